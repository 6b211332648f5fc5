"""Red team: the attacks an independent client made on liveness, each replayed against the real
pipeline and the real check-in API with the real photos and clip in ../shared/faces. Each test
fails if the attack is verified; the honest control (the clip's frames in time order with their
times, inside the fence) stays verified.

The attacks: one photo warped (sheared, and mirrored for the other turn) to imitate the asked
turns; a recording spliced out of time order to show the asked turns; a recording whose turns
come when it was recorded, not when prompted; a burst replayed with a crop, a relight and a new
JPEG encoding; the same burst mirrored; a challenge storm waiting for an easy challenge;
generated capture times and frames from another encoder.
"""
from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest
from PIL import Image

import recognition
from recognition.liveness import TURN_LEFT as L
from recognition.liveness import TURN_RIGHT as R
from recognition.testing import prompted_challenge
from tests.factories import STEPS, Phone, clip_times, inside_fix

pytestmark = pytest.mark.slow

ISSUED = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)
LATER = ISSUED + timedelta(seconds=30)
MIRANDA = "ex_lin-manuel-miranda.png"


def _jpeg(rgb: np.ndarray, quality: int = 85) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=quality)
    return out.getvalue()


def _rgb(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _codes(result) -> list[str]:
    return [r.code for r in result.reasons]


@pytest.fixture(scope="module")
def settings():
    return recognition.RecognitionSettings()


@pytest.fixture(scope="module")
def honest(clip_burst, miranda_template, recognizer, settings):
    """The honest control: the clip's frames 100-165 in time order, and the challenge a trainee
    following the prompts met (its prompts fitted to when he turns)."""
    times = clip_times(len(clip_burst))
    challenge = prompted_challenge(clip_burst, times, STEPS, miranda_template, recognizer, settings, ISSUED)
    return clip_burst, times, challenge


def test_the_honest_clip_in_time_order_with_its_times_passes(honest, miranda_template, recognizer, settings):
    frames, times, challenge = honest
    result = recognition.check_liveness(frames, challenge, miranda_template, recognizer, settings, LATER, frame_times=times)
    assert result.passed, result.reasons
    assert not result.signals


def _sheared(photo: np.ndarray, k: float, mirror: bool = False) -> np.ndarray:
    h, w = photo.shape[:2]
    matrix = np.float32([[1, k, -k * h / 2], [0, 1, 0]])
    out = cv2.warpAffine(photo, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(out[:, ::-1]) if mirror else out


def test_one_photo_sheared_to_imitate_the_asked_turns_fails_the_depth_test(faces_dir, miranda_template, recognizer,
                                                                              settings):
    """The enrolment photo sheared left and right (a shear moves the nose sideways against the
    eyes, which is what a 2-D yaw ratio measures), with capture times and prompts that fit it."""
    photo = np.asarray(Image.open(faces_dir / "images" / "face_recognition" / MIRANDA).convert("RGB"))
    shears = [0.0, 0.0, -0.15, -0.3, -0.4, -0.3, -0.15, 0.0, 0.0, 0.15, 0.3, 0.4, 0.3, 0.15, 0.0, 0.0]
    frames = [_jpeg(_sheared(photo, k)) for k in shears]
    times = clip_times(len(frames), every=250)
    challenge = prompted_challenge(frames, times, (R, L), miranda_template, recognizer,
                                   _without_depth(settings), ISSUED)
    result = recognition.check_liveness(frames, challenge, miranda_template, recognizer, settings, LATER, frame_times=times)
    assert not result.passed
    assert "face_flat" in _codes(result), result.reasons
    # what made the difference: the same burst passes every other check
    assert recognition.check_liveness(frames, challenge, miranda_template, recognizer, _without_depth(settings), LATER,
                                      frame_times=times).passed


def _without_depth(settings):
    from dataclasses import replace

    return replace(settings, depth_min_slope=-99.0, depth_min_correlation=-99.0)


def test_one_sheared_photo_mirrored_for_the_other_turn_is_caught_as_a_mirror_image(faces_dir, miranda_template,
                                                                                      recognizer, settings):
    """One sheared photo shows a turn; its mirror image shows the other turn."""
    photo = np.asarray(Image.open(faces_dir / "images" / "face_recognition" / MIRANDA).convert("RGB"))
    shears = [0.0, 0.0, -0.15, -0.3, -0.4, -0.3, -0.15, 0.0, 0.0, -0.15, -0.3, -0.4, -0.3, -0.15, 0.0, 0.0]
    frames = [_jpeg(_sheared(photo, k, mirror=9 <= i <= 13)) for i, k in enumerate(shears)]
    result = recognition.check_liveness(frames, recognition.Challenge("x", (R, L), ISSUED, ISSUED + timedelta(minutes=1),
                                                                      (500, 2000)),
                                        miranda_template, recognizer, settings, LATER,
                                        frame_times=clip_times(len(frames), every=250))
    assert not result.passed
    assert "frames_mirrored" in _codes(result), result.reasons


def test_a_recording_spliced_out_of_time_order_to_show_the_asked_turns_fails(faces_dir, miranda_template, recognizer,
                                                                              settings):
    """The clip turns right (frames ~115-140) then left (~150-162); the challenge asks left, then
    right. The splice plays his left turn first and his right turn after, with capture times
    that run forwards and prompts that fit: the cut between the two segments is a jump."""
    from tests.factories import clip_jpegs

    left = clip_jpegs(faces_dir, 146, 170, 4)
    right = clip_jpegs(faces_dir, 108, 140, 4)
    frames = left + right
    times = clip_times(len(frames), every=4 * 1000 / 29.97)
    challenge = prompted_challenge(frames, times, (L, R), miranda_template, recognizer,
                                   _without_continuity(settings), ISSUED)
    result = recognition.check_liveness(frames, challenge, miranda_template, recognizer, settings, LATER, frame_times=times)
    assert not result.passed
    assert "burst_discontinuous" in _codes(result), (result.reasons, result.measures.get("continuity"))
    assert recognition.check_liveness(frames, challenge, miranda_template, recognizer, _without_continuity(settings),
                                      LATER, frame_times=times).passed


def _without_continuity(settings):
    from dataclasses import replace

    return replace(settings, continuity_max_centre_speed=1e9, continuity_max_scale_speed=1e9,
                   continuity_max_yaw_speed=1e9, continuity_max_roll_speed=1e9)


def test_a_recording_that_turns_before_the_prompts_fails(honest, miranda_template, recognizer, settings):
    frames, times, challenge = honest
    late = recognition.Challenge("x", challenge.steps, ISSUED, challenge.expires_at,
                                 tuple(p + 500 for p in challenge.prompts_ms))
    result = recognition.check_liveness(frames, late, miranda_template, recognizer, settings, LATER, frame_times=times)
    assert "motion_not_when_prompted" in _codes(result)


def test_frames_without_capture_times_or_shuffled_in_time_fail(honest, miranda_template, recognizer, settings):
    frames, times, challenge = honest
    bare = recognition.check_liveness(frames, challenge, miranda_template, recognizer, settings, LATER)
    assert _codes(bare) == ["capture_times_missing"]
    shuffled = times[:4] + [times[5], times[4]] + times[6:]
    assert _codes(recognition.check_liveness(frames, challenge, miranda_template, recognizer, settings, LATER,
                                             frame_times=shuffled)) == ["frames_out_of_order"]


def test_generated_capture_times_and_frames_from_two_encoders_are_flagged_signals(honest, miranda_template, recognizer,
                                                                                  settings):
    frames, times, challenge = honest
    regular = [round(t) for t in clip_times(len(frames), every=167)]
    regular = [i * 167.0 for i in range(len(frames))]
    result = recognition.check_liveness(frames, challenge, miranda_template, recognizer, settings, LATER,
                                        frame_times=regular)
    assert "capture_times_regular" in [s.code for s in result.signals]
    mixed = [_jpeg(_rgb(f), quality=60) if i % 2 else f for i, f in enumerate(frames)]
    result = recognition.check_liveness(mixed, challenge, miranda_template, recognizer, settings, LATER, frame_times=times)
    assert "frames_mixed_encoders" in [s.code for s in result.signals]


# --- through the check-in API ---------------------------------------------------------------------

def _perturbed(frames: list[bytes]) -> list[bytes]:
    """Each frame cropped by 4 %, turned 2 degrees, relit (x0.85 + 12) and re-encoded at q70."""
    out = []
    for data in frames:
        rgb = _rgb(data)
        h, w = rgb.shape[:2]
        crop = np.ascontiguousarray(rgb[int(h * 0.04):, int(w * 0.02):w - int(w * 0.02)])
        ch, cw = crop.shape[:2]
        turned = cv2.warpAffine(crop, cv2.getRotationMatrix2D((cw / 2, ch / 2), 2, 1.0), (cw, ch),
                                borderMode=cv2.BORDER_REFLECT)
        out.append(_jpeg(np.clip(turned.astype(float) * 0.85 + 12, 0, 255).astype(np.uint8), quality=70))
    return out


def test_a_replayed_burst_cropped_relit_and_re_encoded_is_not_verified(app, live, clip_burst):
    phone = Phone(app)
    first = phone.send(live["offline"], clip_burst, location=inside_fix()).get_json()
    assert first["verdict"] == "verified", first["reasons"]
    again = phone.send(live["offline"], _perturbed(clip_burst), kind="check_out", location=inside_fix()).get_json()
    assert again["verdict"] != "verified"
    assert "frames_seen_before" in [r["code"] for r in again["reasons"]], again["reasons"]


def test_the_same_burst_mirrored_is_caught_as_seen_before(app, live, clip_burst):
    """Mirrored, his right-then-left becomes left-then-right: a recording that answers the other
    challenge. The seeded challenge asks for what the mirror shows."""
    import random

    from tests.factories import seed_for

    phone = Phone(app)
    assert phone.send(live["offline"], clip_burst, location=inside_fix()).get_json()["verdict"] == "verified"
    seed = seed_for((L, R), app.config["RECOGNITION_SETTINGS"])
    app.config["CHALLENGE_RNG"] = lambda: random.Random(seed)
    mirrored = [_jpeg(np.ascontiguousarray(_rgb(f)[:, ::-1])) for f in clip_burst]
    again = phone.send(live["offline"], mirrored, kind="check_out", location=inside_fix()).get_json()
    assert again["verdict"] != "verified"
    assert "frames_seen_before" in [r["code"] for r in again["reasons"]], again["reasons"]


def test_a_challenge_storm_is_refused_and_the_unanswered_challenges_count_as_failed_attempts(app, live, clip_burst,
                                                                                              session):
    """A modified client asks for challenge after challenge, waiting for an easy one."""
    from sqlalchemy import update

    from server.models import Challenge

    phone = Phone(app)
    limit = 3
    answers = [phone.post(f"/api/lessons/{live['offline']}/challenge", json={"purpose": "check_in"})
               for _ in range(limit + 2)]
    assert [a.status_code for a in answers] == [201] * limit + [429, 429]
    assert answers[-1].get_json()["error"]["code"] == "too_many_challenges"
    assert "一分钟" in answers[-1].get_json()["error"]["message"]
    # a minute later, the three were never answered: they expired (moved into the past here)
    session.execute(update(Challenge).values(issued_at=datetime.now(UTC) - timedelta(minutes=5),
                                             expires_at=datetime.now(UTC) - timedelta(minutes=3)))
    session.commit()
    body = phone.send(live["offline"], clip_burst, location=inside_fix()).get_json()
    assert body["verdict"] != "verified"
    assert "face_attempts_exhausted" in [r["code"] for r in body["reasons"]], body["reasons"]
