"""Liveness logic with the FakeRecognizer: challenges, order of motions, stills, identity,
expiry, fingerprints."""
from __future__ import annotations

import random
import statistics
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from recognition import Challenge, RecognitionSettings, check_liveness, enroll, new_challenge
from recognition.faces import Box
from recognition.identity import template_shift
from recognition.liveness import TILT_LEFT, TURNS, motions, steps_satisfied, valid_sequences
from recognition.liveness import TURN_LEFT as L
from recognition.liveness import TURN_RIGHT as R
from recognition.testing import FakeFace, FakeRecognizer, fake_photo

FAKE = FakeRecognizer()
SETTINGS = RecognitionSettings()
#: without a deployment around the template, the strictest per-template thresholds apply
STRICT_SHIFT = template_shift(None, SETTINGS)[0]
ACCEPT_BELOW, REFUSE_FROM = SETTINGS.match_threshold + STRICT_SHIFT, SETTINGS.review_threshold + STRICT_SHIFT
NOW = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)
#: when the burst arrives: ten seconds after the challenge was issued
LATER = NOW + timedelta(seconds=10)
EVERY_MS = 250


@pytest.fixture(scope="module")
def alice():
    return enroll([fake_photo(FakeFace("alice"))], FAKE, SETTINGS).template


def challenge(*steps: str, prompts: tuple[int, ...] | None = None) -> Challenge:
    """Step k prompted at 800 + 1600 k ms (unless given)."""
    prompts = prompts if prompts is not None else tuple(800 + 1600 * k for k in range(len(steps)))
    return Challenge("nonce", steps, NOW, NOW + timedelta(seconds=SETTINGS.challenge_ttl_seconds), prompts)


def burst(yaws, identity="alice", rolls=None, flat=False) -> list[bytes]:
    """Fake frames: yaw > 0 is the nose towards the image's right (the trainee's own left)."""
    rolls = rolls or [0.0] * len(yaws)
    return [fake_photo(FakeFace(identity, yaw=y, roll=r, flat=flat), seed=i)
            for i, (y, r) in enumerate(zip(yaws, rolls, strict=True))]


def times(n: int, every: float = EVERY_MS) -> list[float]:
    """Capture times with a browser's few milliseconds of jitter."""
    return [i * every + (i * 7) % 5 for i in range(n)]


def check(frames, ch, template, *, settings=SETTINGS, frame_times=None, now=LATER, recognizer=FAKE):
    frame_times = times(len(frames)) if frame_times is None else frame_times
    return check_liveness(frames, ch, template, recognizer, settings, now=now, frame_times=frame_times)


#: 16 frames, 250 ms apart: still, a left turn from 1000 ms (prompt at 800), still, a right
#: turn from 2500 ms (prompt at 2400), still until 3750 ms.
LEFT_THEN_RIGHT = [0.0, 0.0, 0.0, 0.02, 0.2, 0.35, 0.2, 0.0, 0.0, 0.0, -0.2, -0.35, -0.2, 0.0, 0.0, 0.0]


def codes(result) -> list[str]:
    return [r.code for r in result.reasons]


# --- challenges ---------------------------------------------------------------------------------

def test_a_challenge_has_three_steps_with_a_turn_random_prompt_times_a_secret_nonce_and_an_expiry():
    c = new_challenge(random.Random(1), NOW, SETTINGS)
    assert len(c.steps) == 3 and set(c.steps) <= set(SETTINGS.challenge_actions) and set(c.steps) & TURNS
    first, gap = SETTINGS.prompt_first_ms, SETTINGS.prompt_gap_ms
    assert first[0] <= c.prompts_ms[0] <= first[1] + 5
    assert all(gap[0] - 10 <= b - a <= gap[1] + 10 for a, b in zip(c.prompts_ms, c.prompts_ms[1:], strict=False))
    assert len(c.nonce) == 32 and c.expires_at == NOW + timedelta(seconds=SETTINGS.challenge_ttl_seconds)
    assert c.instructions[0].startswith("请")


def test_the_same_rng_seed_gives_the_same_steps_and_times_but_never_the_same_nonce():
    a, b = new_challenge(random.Random(7), NOW), new_challenge(random.Random(7), NOW)
    assert (a.steps, a.prompts_ms) == (b.steps, b.prompts_ms) and a.nonce != b.nonce


def test_the_challenge_space_is_twenty_six_sequences_each_at_many_timings():
    assert len(valid_sequences(SETTINGS)) == 26
    seen = {new_challenge(random.Random(seed), NOW) for seed in range(300)}
    assert len({c.steps for c in seen}) >= 24 and len({c.prompts_ms for c in seen}) >= 290


@hyp_settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10_000), steps=st.integers(1, 4))
def test_no_step_repeats_and_turns_alternate(seed, steps):
    c = new_challenge(random.Random(seed), NOW, replace(SETTINGS, challenge_steps=steps))
    assert all(a != b for a, b in zip(c.steps, c.steps[1:], strict=False))
    turns = [s for s in c.steps if s in TURNS]
    assert all(a != b for a, b in zip(turns, turns[1:], strict=False)) and turns


def test_a_naive_clock_is_refused():
    with pytest.raises(ValueError):
        new_challenge(random.Random(1), datetime(2026, 1, 1))


# --- motions ------------------------------------------------------------------------------------

def test_a_burst_with_the_asked_turns_in_the_asked_order_when_prompted_passes(alice):
    result = check(burst(LEFT_THEN_RIGHT), challenge(L, R), alice)
    assert result.passed, result.reasons
    assert result.events == (L, R)
    timing = result.evidence()["measures"]["prompt_timing"]
    assert [t["start_ms"] for t in timing] == [times(16)[4], times(16)[10]]


def test_the_same_turns_in_the_opposite_order_fail(alice):
    result = check(burst(LEFT_THEN_RIGHT), challenge(R, L), alice)
    assert "motion_not_seen" in codes(result)


def test_a_motion_made_before_its_prompt_fails_as_a_recording_would(alice):
    """The right turn starts at 2500 ms; prompted at 3200 ms it came before it was asked."""
    result = check(burst(LEFT_THEN_RIGHT), challenge(L, R, prompts=(800, 3200)), alice)
    assert codes(result) == ["motion_not_when_prompted"]


def test_a_motion_made_long_after_its_prompt_fails(alice):
    result = check(burst(LEFT_THEN_RIGHT), challenge(L, R, prompts=(800, 2400)),
                   alice, settings=replace(SETTINGS, prompt_reaction_ms=50))
    assert codes(result) == ["motion_not_when_prompted"]


def test_extra_turns_that_were_not_asked_for_fail_unless_the_setting_allows_them(alice):
    wobble = [0.0, 0.0, 0.0, 0.02, 0.2, 0.35, 0.2, 0.0, -0.2, 0.0, 0.2, 0.0, -0.2, -0.35, -0.2, 0.0]
    strict = check(burst(wobble), challenge(L, R, prompts=(800, 2900)), alice)
    assert "unexpected_motion" in codes(strict)
    lenient = replace(SETTINGS, liveness_strict_turns=False)
    assert check(burst(wobble), challenge(L, R, prompts=(800, 2900)), alice, settings=lenient).passed


def test_mirrored_frames_swap_left_and_right(alice):
    mirrored = replace(SETTINGS, frames_mirrored=True)
    assert check(burst(LEFT_THEN_RIGHT), challenge(R, L), alice, settings=mirrored).passed


def test_a_tilt_is_seen_from_the_angle_of_the_eye_line(alice):
    yaws = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.2, -0.35, -0.2, 0.0, 0.0, 0.0]
    rolls = [0.0, 0.0, 0.0, 5.0, 18.0, 22.0, 15.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    result = check(burst(yaws, rolls=rolls), challenge(TILT_LEFT, R), alice)
    assert result.passed, result.reasons
    assert result.events == (TILT_LEFT, R)
    assert "motion_not_seen" in codes(check(burst(yaws), challenge(TILT_LEFT, R), alice))


def _poses(yaws):
    from recognition.faces import Pose

    return [Pose(y, 0.0, 0.9 * y, (100.0, 100.0), 60.0) for y in yaws]


def test_turns_are_measured_from_the_bursts_neutral_pose_not_from_zero():
    # camera off to one side: frontal at -0.06, a turn right reaches only -0.2 in absolute terms
    yaws = [-0.06, -0.06, -0.1, -0.2, -0.08, -0.06, 0.05, 0.08, 0.0, -0.06]
    assert [m.kind for m in motions(_poses(yaws), SETTINGS)] == [R, L]


def test_a_burst_spent_mostly_turned_does_not_turn_its_frontal_frames_into_the_other_turn():
    yaws = [0.0, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.0, 0.0]
    assert [m.kind for m in motions(_poses(yaws), SETTINGS)] == [L]


def test_steps_are_matched_in_order_as_a_subsequence():
    assert steps_satisfied((L, TILT_LEFT), (TILT_LEFT, L, TILT_LEFT), strict_turns=True) == (True, True)
    assert steps_satisfied((L, R), (R, L), strict_turns=True)[0] is False
    assert steps_satisfied((L,), (L, R), strict_turns=True) == (True, False)


# --- time ---------------------------------------------------------------------------------------

def test_a_burst_without_capture_times_fails(alice):
    result = check_liveness(burst(LEFT_THEN_RIGHT), challenge(L, R), alice, FAKE, SETTINGS, now=LATER)
    assert codes(result) == ["capture_times_missing"]


def test_frames_out_of_time_order_fail(alice):
    t = times(16)
    t[5], t[6] = t[6], t[5]
    assert codes(check(burst(LEFT_THEN_RIGHT), challenge(L, R), alice, frame_times=t)) == ["frames_out_of_order"]


def test_a_long_pause_between_two_frames_fails(alice):
    t = [x + (1000 if i >= 8 else 0) for i, x in enumerate(times(16))]
    assert "capture_gap" in codes(check(burst(LEFT_THEN_RIGHT), challenge(L, R), alice, frame_times=t))


def test_a_burst_longer_than_the_time_since_the_challenge_was_issued_fails(alice):
    result = check(burst(LEFT_THEN_RIGHT), challenge(L, R), alice, now=NOW + timedelta(seconds=1))
    assert "burst_before_challenge" in codes(result)


def test_a_burst_that_stops_before_the_last_motion_could_be_made_fails(alice):
    result = check(burst(LEFT_THEN_RIGHT), challenge(L, R, prompts=(800, 3500)), alice)
    assert "burst_ended_early" in codes(result)


def test_a_burst_longer_than_allowed_fails(alice):
    result = check(burst(LEFT_THEN_RIGHT), challenge(L, R), alice, frame_times=times(16, every=600),
                   settings=replace(SETTINGS, liveness_max_burst_seconds=5.0))
    assert "burst_too_long" in codes(result)


# --- continuity, depth, injection signals ---------------------------------------------------------

def test_a_face_that_jumps_between_two_frames_fails_as_a_cut_would(alice):
    faces = [FakeFace("alice", yaw=y, shift=400 if i >= 8 else 0) for i, y in enumerate(LEFT_THEN_RIGHT)]
    result = check([fake_photo(f, seed=i) for i, f in enumerate(faces)], challenge(L, R), alice)
    assert "burst_discontinuous" in codes(result)
    assert result.evidence()["measures"]["continuity"]["centre"] > SETTINGS.continuity_max_centre_speed


def test_a_flat_face_whose_eyes_do_not_foreshorten_with_the_turn_fails_the_depth_test(alice):
    result = check(burst(LEFT_THEN_RIGHT, flat=True), challenge(L, R), alice)
    assert codes(result) == ["face_flat"]
    real = check(burst(LEFT_THEN_RIGHT), challenge(L, R), alice).evidence()["measures"]["depth"]
    assert real["slope"] == pytest.approx(0.9, abs=0.05) and real["correlation"] > 0.99


def test_capture_times_without_any_jitter_are_an_injection_signal_not_a_failure(alice):
    result = check(burst(LEFT_THEN_RIGHT), challenge(L, R), alice, frame_times=[i * 250.0 for i in range(16)])
    assert result.passed and [s.code for s in result.signals] == ["capture_times_regular"]
    assert not check(burst(LEFT_THEN_RIGHT), challenge(L, R), alice).signals


def test_capture_times_with_the_jitter_of_a_real_browsers_timers_are_not_a_signal(alice):
    """Real Chromium setTimeout bursts spread their gaps by as little as ~0.5 ms (0.1 ms steps):
    an honest check-in like that must not be sent to a person as if injected."""
    wobble = [0.0, 0.4, -0.1, 0.5, 0.0, -0.4, 0.3, 0.1, -0.3, 0.6, 0.0, 0.2, -0.2, 0.4, 0.1, 0.0]
    times = [round(i * 250.0 + 1.0 + w, 1) for i, w in enumerate(wobble)]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert 0.2 < statistics.pstdev(gaps) < 0.5  # below the old threshold: it flagged these
    result = check(burst(LEFT_THEN_RIGHT), challenge(L, R), alice, frame_times=times)
    assert result.passed and not result.signals


def test_frames_from_two_jpeg_encoders_are_an_injection_signal(alice):
    frames = [fake_photo(FakeFace("alice", yaw=y), seed=i, fmt="PNG") for i, y in enumerate(LEFT_THEN_RIGHT)]
    from recognition.liveness import jpeg_signature

    assert jpeg_signature(frames[0]) is None  # PNG: no encoder tables to compare
    import io

    from PIL import Image

    def jpeg(q: int) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (64, 64), (120, 90, 60)).save(out, "JPEG", quality=q)
        return out.getvalue()

    assert jpeg_signature(jpeg(85)) == jpeg_signature(jpeg(85)) != jpeg_signature(jpeg(60))


# --- stills, identity, limits -------------------------------------------------------------------

def test_a_burst_of_one_still_repeated_fails_liveness(alice):
    still = fake_photo(FakeFace("alice"))
    result = check([still] * 16, challenge(L, R), alice)
    assert not result.passed
    assert {"frames_identical", "motion_not_seen"} <= set(codes(result))
    assert len(set(result.fingerprints)) == 1


def test_the_asked_motions_by_someone_else_fail_on_identity(alice):
    result = check(burst(LEFT_THEN_RIGHT, identity="mallory"), challenge(L, R), alice)
    assert codes(result) == ["identity_not_confirmed"]
    assert result.best_distance > SETTINGS.match_threshold


def test_the_peak_of_every_motion_is_encoded_within_the_budget(alice):
    result = check(burst(LEFT_THEN_RIGHT), challenge(L, R), alice)
    encoded = [f.index for f in result.frames if f.distance is not None]
    assert {5, 11} <= set(encoded) and len(encoded) == SETTINGS.liveness_max_encoded_frames


def test_a_burst_whose_turns_are_performed_by_another_person_is_refused(alice):
    """The trainee holds still for the frontal frames; a friend performs every turn."""
    faces = [FakeFace("alice" if abs(y) < SETTINGS.turn_yaw else "mallory", yaw=y) for y in LEFT_THEN_RIGHT]
    frames = [fake_photo(f, seed=i) for i, f in enumerate(faces)]
    result = check(frames, challenge(L, R), alice)
    assert not result.passed and "identity_changed_in_burst" in codes(result)
    # without the whole-burst check the frontal frames alone would have proven "alice"
    frontal = [f.distance for f in result.frames if f.distance is not None and abs(f.yaw or 0) < SETTINGS.turn_yaw]
    assert frontal and max(frontal) < SETTINGS.match_threshold


def test_a_distance_in_the_band_between_the_thresholds_passes_liveness_but_needs_review(alice):
    middle = (ACCEPT_BELOW + REFUSE_FROM) / 2
    frames = [fake_photo(FakeFace("alice", yaw=y, offset=middle), seed=i) for i, y in enumerate(LEFT_THEN_RIGHT)]
    result = check(frames, challenge(L, R), alice)
    assert result.passed and result.needs_review and result.identity and result.identity.outcome == "review"
    assert result.probe is not None and "probe" not in result.evidence()


def test_an_expired_challenge_fails(alice):
    late = NOW + timedelta(seconds=SETTINGS.challenge_ttl_seconds)
    result = check(burst(LEFT_THEN_RIGHT), challenge(L, R), alice, now=late)
    assert codes(result) == ["challenge_expired"]


def test_a_challenge_without_prompt_times_fails_every_burst(alice):
    bare = Challenge("nonce", (L, R), NOW, NOW + timedelta(seconds=90))
    assert codes(check(burst(LEFT_THEN_RIGHT), bare, alice)) == ["liveness_error"]


@pytest.mark.parametrize("count, code", [(4, "too_few_frames"), (31, "too_many_frames")])
def test_the_frame_count_is_bounded_by_settings(alice, count, code):
    frames = burst([0.0] * count)
    assert codes(check(frames, challenge(L, R), alice)) == [code]


def test_frames_without_a_face_count_against_the_burst(alice):
    frames = burst(LEFT_THEN_RIGHT)[:3] + [fake_photo(seed=i) for i in range(13)]
    assert "face_missing_in_frames" in codes(check(frames, challenge(L, R), alice))


def test_a_second_face_in_the_frames_fails(alice):
    frames = [fake_photo(FakeFace("alice", yaw=y, size=100), FakeFace("bob", size=100), seed=i)
              for i, y in enumerate(LEFT_THEN_RIGHT)]
    assert "multiple_faces" in codes(check(frames, challenge(L, R), alice))


def test_a_frame_that_is_not_an_image_fails_with_its_number(alice):
    frames = burst(LEFT_THEN_RIGHT)
    frames[3] = b"junk"
    result = check(frames, challenge(L, R), alice)
    assert codes(result) == ["not_an_image"] and result.reasons[0].message.startswith("第4帧")


def test_an_error_inside_the_backend_fails_closed(alice):
    class Broken(FakeRecognizer):
        def landmarks(self, rgb, box):
            raise RuntimeError("backend down")

    result = check(burst(LEFT_THEN_RIGHT), challenge(L, R), alice, recognizer=Broken())
    assert not result.passed and codes(result) == ["liveness_error"]


def test_every_frame_has_a_fingerprint_and_a_mirror_fingerprint_for_replay_detection(alice):
    result = check(burst(LEFT_THEN_RIGHT), challenge(L, R), alice)
    assert len(result.fingerprints) == 16 and all(len(f) == 16 for f in result.fingerprints)
    assert len(result.mirror_fingerprints) == 16
    assert [f.fingerprint for f in result.frames] == list(result.fingerprints)


def test_liveness_evidence_is_json_ready_and_holds_no_encoding(alice):
    import json

    result = check(burst(LEFT_THEN_RIGHT), challenge(L, R), alice)
    evidence = json.loads(json.dumps(result.evidence(), ensure_ascii=False))
    assert evidence["passed"] is True and evidence["events"] == [L, R]
    assert len(evidence["frames"]) == 16 and evidence["frames"][0]["fingerprint"] == result.fingerprints[0]
    assert evidence["measures"]["times_ms"][:2] == [0, 252] and evidence["measures"]["prompts_ms"] == [800, 2400]


class _SeesFacesOnlyAt640:
    """Scripted detector: finds one face in whole-frame copies whose longer side is 640 px
    (a face too small for the cheaper 480 px copy), nothing anywhere else."""

    model_name, model_version = "scripted", "1"

    def __init__(self):
        self.sides: list[int] = []

    def detect(self, rgb, upsample):
        self.sides.append(max(rgb.shape[:2]))
        return [Box(300, 150, 360, 210)] if max(rgb.shape[:2]) == 640 else []


def test_a_face_too_small_for_the_cheap_whole_frame_copy_is_found_on_the_larger_one():
    from recognition.images import from_array
    from recognition.liveness import track_faces

    settings = RecognitionSettings()
    frame = from_array(np.zeros((720, 1280, 3), dtype=np.uint8), settings)
    detector = _SeesFacesOnlyAt640()
    boxes, counts = track_faces([frame], detector, settings)
    assert detector.sides[:2] == [settings.liveness_detect_max_side, settings.liveness_detect_retry_side]
    assert counts == [1] and boxes[0] == Box(600, 300, 720, 420)  # mapped back to the 1280 px frame

    without_retry = replace(settings, liveness_detect_retry_side=settings.liveness_detect_max_side)
    boxes, counts = track_faces([frame], _SeesFacesOnlyAt640(), without_retry)
    assert counts == [0] and boxes == [None]


def test_the_still_thumbnail_and_fingerprint_of_a_frame_do_not_depend_on_its_size():
    from recognition.images import dhash, hamming, thumbnail

    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, size=(9, 16, 3), dtype=np.uint8)
    big = np.kron(base, np.ones((80, 80, 1), dtype=np.uint8))  # 720x1280 blocks
    small = big[::4, ::4].copy()
    assert hamming(dhash(big), dhash(small)) <= 2
    assert np.mean(np.abs(thumbnail(big).astype(int) - thumbnail(small).astype(int))) < 2
