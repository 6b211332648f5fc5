"""Liveness logic with the FakeRecognizer: challenges, order of motions, stills, identity,
expiry, fingerprints."""
from __future__ import annotations

import random
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
from recognition.liveness import BLINK, TURNS, motion_events, steps_satisfied
from recognition.liveness import TURN_LEFT as L
from recognition.liveness import TURN_RIGHT as R
from recognition.testing import FakeFace, FakeRecognizer, fake_photo

FAKE = FakeRecognizer()
SETTINGS = RecognitionSettings()
#: without a deployment around the template, the strictest per-template thresholds apply
STRICT_SHIFT = template_shift(None, SETTINGS)[0]
ACCEPT_BELOW, REFUSE_FROM = SETTINGS.match_threshold + STRICT_SHIFT, SETTINGS.review_threshold + STRICT_SHIFT
NOW = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def alice():
    return enroll([fake_photo(FakeFace("alice"))], FAKE, SETTINGS).template


def challenge(*steps: str) -> Challenge:
    return Challenge("nonce", steps, NOW, NOW + timedelta(seconds=SETTINGS.challenge_ttl_seconds))


def burst(yaws, ears=None, identity="alice") -> list[bytes]:
    """Fake frames: yaw > 0 is the nose towards the image's right (the trainee's own left)."""
    ears = ears or [0.3] * len(yaws)
    return [fake_photo(FakeFace(identity, yaw=y, ear=e), seed=i) for i, (y, e) in enumerate(zip(yaws, ears, strict=True))]


LEFT_THEN_RIGHT = [0.0, 0.0, 0.2, 0.35, 0.2, 0.0, -0.2, -0.35, -0.2, 0.0]


def codes(result) -> list[str]:
    return [r.code for r in result.reasons]


# --- challenges ---------------------------------------------------------------------------------

def test_a_challenge_has_two_steps_a_secret_nonce_and_an_expiry_by_default():
    c = new_challenge(random.Random(1), NOW, SETTINGS)
    assert len(c.steps) == 2 and set(c.steps) <= {L, R, BLINK}
    assert len(c.nonce) == 32 and c.expires_at == NOW + timedelta(seconds=SETTINGS.challenge_ttl_seconds)
    assert c.instructions[0].startswith("请")


def test_the_same_rng_seed_gives_the_same_steps_but_never_the_same_nonce():
    a, b = new_challenge(random.Random(7), NOW), new_challenge(random.Random(7), NOW)
    assert a.steps == b.steps and a.nonce != b.nonce


def test_challenges_vary_with_the_rng():
    seen = {new_challenge(random.Random(seed), NOW).steps for seed in range(60)}
    assert len(seen) == 6  # LR, RL, LB, BL, RB, BR


@hyp_settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 6))
def test_no_step_repeats_and_turns_alternate(seed, steps):
    c = new_challenge(random.Random(seed), NOW, replace(SETTINGS, challenge_steps=steps))
    assert len(c.steps) == steps
    assert all(a != b for a, b in zip(c.steps, c.steps[1:], strict=False))
    turns = [s for s in c.steps if s in TURNS]
    assert all(a != b for a, b in zip(turns, turns[1:], strict=False))


def test_a_naive_clock_is_refused():
    with pytest.raises(ValueError):
        new_challenge(random.Random(1), datetime(2026, 1, 1))


# --- motions ------------------------------------------------------------------------------------

def test_a_burst_with_the_asked_turns_in_the_asked_order_passes(alice):
    result = check_liveness(burst(LEFT_THEN_RIGHT), challenge(L, R), alice, FAKE, SETTINGS, now=NOW)
    assert result.passed, result.reasons
    assert result.events == (L, R) and codes(result) == ["liveness_passed"]
    assert result.encoded_frames == result.matched_frames >= SETTINGS.liveness_min_encoded_frames
    assert result.threshold == ACCEPT_BELOW and result.identity and result.identity.outcome == "accept"


def test_the_same_turns_in_the_opposite_order_fail(alice):
    result = check_liveness(burst(LEFT_THEN_RIGHT), challenge(R, L), alice, FAKE, SETTINGS, now=NOW)
    assert not result.passed and codes(result) == ["motion_not_seen"]


def test_extra_turns_that_were_not_asked_for_fail_unless_the_setting_allows_them(alice):
    wobble = [0.0, 0.3, 0.0, -0.3, 0.0, 0.3, 0.0, -0.3, 0.0, 0.0]
    strict = check_liveness(burst(wobble), challenge(L, R), alice, FAKE, SETTINGS, now=NOW)
    assert codes(strict) == ["unexpected_motion"]
    lenient = replace(SETTINGS, liveness_strict_turns=False)
    assert check_liveness(burst(wobble), challenge(L, R), alice, FAKE, lenient, now=NOW).passed


def test_mirrored_frames_swap_left_and_right(alice):
    mirrored = replace(SETTINGS, frames_mirrored=True)
    assert check_liveness(burst(LEFT_THEN_RIGHT), challenge(R, L), alice, FAKE, mirrored, now=NOW).passed


def test_a_blink_is_seen_from_the_eye_aspect_ratio(alice):
    yaws = [0.0, 0.0, 0.0, 0.0, 0.0, 0.2, 0.35, 0.3, 0.1, 0.0]
    ears = [0.3, 0.31, 0.08, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]
    result = check_liveness(burst(yaws, ears), challenge(BLINK, L), alice, FAKE, SETTINGS, now=NOW)
    assert result.passed, result.reasons
    wrong = check_liveness(burst(yaws, ears), challenge(L, BLINK), alice, FAKE, SETTINGS, now=NOW)
    assert codes(wrong) == ["motion_not_seen"]


def test_turns_are_measured_from_the_bursts_neutral_pose_not_from_zero():
    # camera off to one side: frontal at -0.08, a turn right reaches only -0.25 in absolute terms
    yaws = [-0.08, -0.08, -0.15, -0.25, -0.1, -0.08, 0.05, 0.1, 0.0, -0.08]
    assert motion_events(yaws, [0.3] * 10, SETTINGS) == (R, L)


def test_a_burst_spent_mostly_turned_does_not_turn_its_frontal_frames_into_the_other_turn():
    yaws = [0.0, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.0, 0.0]
    assert motion_events(yaws, [0.3] * 10, SETTINGS) == (L,)


def test_steps_are_matched_in_order_as_a_subsequence():
    assert steps_satisfied((L, BLINK), (BLINK, L, BLINK), strict_turns=True) == (True, True)
    assert steps_satisfied((L, R), (R, L), strict_turns=True)[0] is False
    assert steps_satisfied((L,), (L, R), strict_turns=True) == (True, False)


# --- stills, identity, limits -------------------------------------------------------------------

def test_a_burst_of_one_still_repeated_fails_liveness(alice):
    still = fake_photo(FakeFace("alice"))
    result = check_liveness([still] * 10, challenge(L, R), alice, FAKE, SETTINGS, now=NOW)
    assert not result.passed
    assert {"frames_identical", "motion_not_seen"} <= set(codes(result))
    assert len(set(result.fingerprints)) == 1


def test_the_asked_motions_by_someone_else_fail_on_identity(alice):
    result = check_liveness(burst(LEFT_THEN_RIGHT, identity="mallory"), challenge(L, R), alice, FAKE, SETTINGS, now=NOW)
    assert codes(result) == ["identity_not_confirmed"]
    assert result.best_distance > SETTINGS.match_threshold


def test_every_frame_that_carries_a_motion_is_encoded_and_no_gap_is_wider_than_the_setting(alice):
    result = check_liveness(burst(LEFT_THEN_RIGHT), challenge(L, R), alice, FAKE, SETTINGS, now=NOW)
    encoded = [f.index for f in result.frames if f.distance is not None]
    turned = [i for i, y in enumerate(LEFT_THEN_RIGHT) if abs(y) >= SETTINGS.turn_yaw]
    assert set(turned) <= set(encoded)
    assert max(b - a for a, b in zip(encoded, encoded[1:], strict=False)) <= SETTINGS.liveness_encode_gap


def test_a_burst_whose_turns_are_performed_by_another_person_is_refused(alice):
    """The trainee holds still for the frontal frames; a friend performs every turn."""
    faces = [FakeFace("alice" if abs(y) < SETTINGS.turn_yaw else "mallory", yaw=y, ear=0.3) for y in LEFT_THEN_RIGHT]
    frames = [fake_photo(f, seed=i) for i, f in enumerate(faces)]
    result = check_liveness(frames, challenge(L, R), alice, FAKE, SETTINGS, now=NOW)
    assert not result.passed and "identity_changed_in_burst" in codes(result)
    # without the whole-burst check the frontal frames alone would have proven "alice"
    frontal = [f.distance for f in result.frames if f.distance is not None and abs(f.yaw or 0) < SETTINGS.turn_yaw]
    assert frontal and max(frontal) < SETTINGS.match_threshold


def test_a_blink_by_another_person_is_encoded_and_refused(alice):
    ears = [0.3] * 10
    ears[5] = 0.05
    faces = [FakeFace("mallory" if i == 5 else "alice", yaw=0.0, ear=e) for i, e in enumerate(ears)]
    frames = [fake_photo(f, seed=i) for i, f in enumerate(faces)]
    result = check_liveness(frames, challenge(BLINK), alice, FAKE, replace(SETTINGS, liveness_strict_turns=False), now=NOW)
    assert result.frames[5].distance is not None and "identity_changed_in_burst" in codes(result)


def test_a_distance_in_the_band_between_the_thresholds_passes_liveness_but_needs_review(alice):
    middle = (ACCEPT_BELOW + REFUSE_FROM) / 2
    frames = [fake_photo(FakeFace("alice", yaw=y, offset=middle), seed=i) for i, y in enumerate(LEFT_THEN_RIGHT)]
    result = check_liveness(frames, challenge(L, R), alice, FAKE, SETTINGS, now=NOW)
    assert result.passed and result.needs_review and result.identity and result.identity.outcome == "review"
    assert result.probe is not None and "probe" not in result.evidence()


def test_an_expired_challenge_fails(alice):
    late = NOW + timedelta(seconds=SETTINGS.challenge_ttl_seconds)
    result = check_liveness(burst(LEFT_THEN_RIGHT), challenge(L, R), alice, FAKE, SETTINGS, now=late)
    assert codes(result) == ["challenge_expired"]


@pytest.mark.parametrize("count, code", [(4, "too_few_frames"), (31, "too_many_frames")])
def test_the_frame_count_is_bounded_by_settings(alice, count, code):
    frames = burst([0.0] * count)
    assert codes(check_liveness(frames, challenge(L, R), alice, FAKE, SETTINGS, now=NOW)) == [code]


def test_a_burst_longer_than_allowed_fails(alice):
    times = [i * 2.0 for i in range(10)]
    result = check_liveness(burst(LEFT_THEN_RIGHT), challenge(L, R), alice, FAKE, SETTINGS, now=NOW, frame_times=times)
    assert codes(result) == ["burst_too_long"]


def test_frames_without_a_face_count_against_the_burst(alice):
    frames = burst(LEFT_THEN_RIGHT)[:3] + [fake_photo(seed=i) for i in range(7)]
    assert "face_missing_in_frames" in codes(check_liveness(frames, challenge(L, R), alice, FAKE, SETTINGS, now=NOW))


def test_a_second_face_in_the_frames_fails(alice):
    frames = [fake_photo(FakeFace("alice", yaw=y, size=100), FakeFace("bob", size=100), seed=i)
              for i, y in enumerate(LEFT_THEN_RIGHT)]
    assert "multiple_faces" in codes(check_liveness(frames, challenge(L, R), alice, FAKE, SETTINGS, now=NOW))


def test_a_frame_that_is_not_an_image_fails_with_its_number(alice):
    frames = burst(LEFT_THEN_RIGHT)
    frames[3] = b"junk"
    result = check_liveness(frames, challenge(L, R), alice, FAKE, SETTINGS, now=NOW)
    assert codes(result) == ["not_an_image"] and result.reasons[0].message.startswith("第4帧")


def test_an_error_inside_the_backend_fails_closed(alice):
    class Broken(FakeRecognizer):
        def landmarks(self, rgb, box):
            raise RuntimeError("backend down")

    result = check_liveness(burst(LEFT_THEN_RIGHT), challenge(L, R), alice, Broken(), SETTINGS, now=NOW)
    assert not result.passed and codes(result) == ["liveness_error"]


def test_every_frame_has_a_fingerprint_for_replay_detection(alice):
    result = check_liveness(burst(LEFT_THEN_RIGHT), challenge(L, R), alice, FAKE, SETTINGS, now=NOW)
    assert len(result.fingerprints) == 10 and all(len(f) == 16 for f in result.fingerprints)
    assert [f.fingerprint for f in result.frames] == list(result.fingerprints)


def test_liveness_evidence_is_json_ready_and_holds_no_encoding(alice):
    import json

    result = check_liveness(burst(LEFT_THEN_RIGHT), challenge(L, R), alice, FAKE, SETTINGS, now=NOW)
    evidence = json.loads(json.dumps(result.evidence(), ensure_ascii=False))
    assert evidence["passed"] is True and evidence["events"] == [L, R]
    assert len(evidence["frames"]) == 10 and evidence["frames"][0]["fingerprint"] == result.fingerprints[0]


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
