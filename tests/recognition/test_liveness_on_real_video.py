"""Active liveness on the real Hamilton clip and on a burst made of one real still photo.

Direction in the clip (yaw from landmarks, positive = nose towards the image's right = the
person's own left in an unmirrored camera image): frames 90-210 start slightly to his left, turn
well to his right (about frame 134), back to his left (about 159), and to his right again (about
205). Measured from the burst's median, that is left, right, left, right.

Each frame's capture time is its time in the clip (29.97 fps) from the burst's first frame. The
challenge is the one a trainee following the prompts would have met: each step prompted 150 ms
before the clip shows it (``_prompted``): the clip is a real person turning; the prompts are
fitted to him.
"""
from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from PIL import Image

from recognition import Challenge, RecognitionSettings, check_liveness
from recognition.liveness import TURN_LEFT as L
from recognition.liveness import TURN_RIGHT as R

pytestmark = pytest.mark.slow

NOW = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)
MIRANDA = "ex_lin-manuel-miranda.png"


LATER = NOW + timedelta(seconds=30)
FPS = 29.97


def _challenge(*steps: str, prompts: tuple[int, ...] | None = None) -> Challenge:
    prompts = prompts if prompts is not None else tuple(0 for _ in steps)
    return Challenge(nonce="test", steps=steps, issued_at=NOW, expires_at=NOW + timedelta(minutes=2), prompts_ms=prompts)


def _times(start: int, stop: int, step: int) -> list[float]:
    return [(i - start) * 1000 / FPS for i in range(start, stop + 1, step)]


def _prompted(burst, times, steps, template, recognizer, settings) -> Challenge:
    """The challenge whose prompts came 150 ms before the clip shows each asked motion."""
    probe = check_liveness(burst, _challenge(*steps), template, recognizer,
                           replace(settings, prompt_reaction_ms=60_000, burst_tail_max_ms=60_000, burst_tail_min_ms=0),
                           now=LATER, frame_times=times)
    starts = [t["start_ms"] for t in probe.measures["prompt_timing"]]
    assert None not in starts, (probe.reasons, probe.events)
    return _challenge(*steps, prompts=tuple(max(0, round(t) - 150) for t in starts))


def _jpeg(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=85)
    return out.getvalue()


def _burst(frames, start: int, stop: int, step: int) -> list[np.ndarray]:
    return [frames[i] for i in range(start, stop + 1, step)]


@pytest.fixture(scope="module")
def deployment(faces_dir, recognizer, template_of):
    """Distances from Miranda's template to ten other real faces: the deployment around him."""
    from tests.factories import cohort_templates

    miranda = template_of(MIRANDA)
    return [miranda.distance(t.centroid) for t in cohort_templates(faces_dir, recognizer)]


@pytest.mark.parametrize("stop, step, steps", [(210, 8, (L, R, L, R)), (186, 12, (L, R, L))])
def test_frames_from_90_pass_the_challenge_in_the_clips_own_order(clip_frames, template_of, recognizer, settings,
                                                                    stop, step, steps, deployment):
    """Every 8th frame (267 ms apart) to 210, four turns; every 12th (400 ms) to 186, three.
    (The clip cuts away after frame 211: its last turn ends the usable part.)"""
    burst, times = _burst(clip_frames, 90, stop, step), _times(90, stop, step)
    template = template_of(MIRANDA)
    challenge = _prompted(burst, times, steps, template, recognizer, settings)
    result = check_liveness(burst, challenge, template, recognizer, settings, now=LATER, frame_times=times,
                            cohort=deployment)
    assert result.passed, (result.reasons, result.events, result.measures)
    assert result.encoded_frames == result.matched_frames >= settings.liveness_min_encoded_frames
    # single stage frames sit at 0.40-0.54 from the studio enrolment photo; their mean is accepted
    # at this template's own threshold
    assert result.identity is not None and result.identity.outcome == "accept", result.identity
    assert result.identity.cohort_mean is not None
    assert [r.code for r in result.reasons] == ["liveness_passed"]
    # a real head: the far eye narrows with the turn
    depth = result.measures["depth"]
    assert depth["slope"] >= settings.depth_min_slope and depth["correlation"] >= settings.depth_min_correlation
    # alone (no deployment: the strictest thresholds) the same burst is at worst reviewed, never refused
    alone = check_liveness(burst, challenge, template, recognizer, settings, now=LATER, frame_times=times)
    assert alone.passed and alone.identity is not None and alone.identity.outcome in ("accept", "review")


def test_frames_90_to_210_fail_the_opposite_order(clip_frames, template_of, recognizer, settings):
    burst, times = _burst(clip_frames, 90, 210, 8), _times(90, 210, 8)
    result = check_liveness(burst, _challenge(R, L, R, L, prompts=(0, 1000, 2000, 3000)), template_of(MIRANDA),
                            recognizer, settings, now=LATER, frame_times=times)
    assert not result.passed
    assert "motion_not_seen" in [r.code for r in result.reasons]


def test_a_two_step_burst_as_jpeg_bytes_passes_right_then_left_and_fails_left_then_right(
        clip_frames, template_of, recognizer, settings):
    # Frames 100-165: turn to his right (about 134), then back past neutral to his left (about 159).
    burst, times = [_jpeg(f) for f in _burst(clip_frames, 100, 165, 5)], _times(100, 165, 5)
    template = template_of(MIRANDA)
    challenge = _prompted(burst, times, (R, L), template, recognizer, settings)
    ok = check_liveness(burst, challenge, template, recognizer, settings, now=LATER, frame_times=times)
    assert ok.passed, (ok.reasons, ok.events)
    wrong = check_liveness(burst, _challenge(L, R, prompts=challenge.prompts_ms), template, recognizer, settings,
                           now=LATER, frame_times=times)
    assert not wrong.passed


def test_the_clips_turns_fail_when_they_come_before_they_were_prompted(clip_frames, template_of, recognizer, settings):
    """A recording turns when it was recorded turning, not when asked: the same frames against
    prompts a second later than the clip's motions are refused."""
    burst, times = [_jpeg(f) for f in _burst(clip_frames, 100, 185, 5)], _times(100, 185, 5)
    template = template_of(MIRANDA)
    fitted = _prompted(burst, times, (R, L), template, recognizer, settings)
    late = _challenge(R, L, prompts=tuple(p + 600 for p in fitted.prompts_ms))
    result = check_liveness(burst, late, template, recognizer, settings, now=LATER, frame_times=times)
    assert [r.code for r in result.reasons] == ["motion_not_when_prompted"], result.reasons


def test_mirrored_frames_flip_left_and_right_when_the_setting_says_so(clip_frames, template_of, recognizer):
    burst = [np.ascontiguousarray(f[:, ::-1]) for f in _burst(clip_frames, 100, 165, 5)]
    times = _times(100, 165, 5)
    mirrored = RecognitionSettings(frames_mirrored=True)
    template = template_of(MIRANDA)
    challenge = _prompted(burst, times, (R, L), template, recognizer, mirrored)
    result = check_liveness(burst, challenge, template, recognizer, mirrored, now=LATER, frame_times=times)
    assert result.passed, (result.reasons, result.events)


def test_a_burst_of_one_still_repeated_fails_liveness(fr_images, template_of, recognizer, settings):
    still = (fr_images / MIRANDA).read_bytes()
    result = check_liveness([still] * 10, _challenge(L, R, prompts=(500, 1500)), template_of(MIRANDA), recognizer,
                            settings, now=LATER, frame_times=[i * 250.0 + i % 3 for i in range(10)])
    assert not result.passed
    codes = [r.code for r in result.reasons]
    assert "frames_identical" in codes and "motion_not_seen" in codes
    # the face itself is the enrolled one: only liveness stops this still
    assert result.identity is not None and result.identity.outcome == "accept"
    assert len(set(result.fingerprints)) == 1


def test_the_right_motion_by_someone_else_fails_on_identity(clip_frames, template_of, recognizer, settings):
    burst, times = _burst(clip_frames, 90, 210, 8), _times(90, 210, 8)
    challenge = _prompted(burst, times, (L, R, L, R), template_of(MIRANDA), recognizer, settings)
    result = check_liveness(burst, challenge, template_of("ex_obama.jpg"), recognizer, settings, now=LATER,
                            frame_times=times)
    assert not result.passed
    assert [r.code for r in result.reasons] == ["identity_not_confirmed"]


def test_a_burst_whose_turn_is_performed_by_another_person_is_refused(clip_frames, fr_images, template_of, recognizer, settings):
    """The trainee's own frames before and after; in the middle, where he turns to his right, the
    frames show somebody else (a friend doing the motion, spliced in by a modified client)."""
    burst, times = _burst(clip_frames, 100, 165, 5), _times(100, 165, 5)
    friend = np.asarray(Image.open(fr_images / "ex_obama.jpg").convert("RGB"))
    h, w = burst[0].shape[:2]
    scale = h / friend.shape[0]
    import cv2

    friend = cv2.resize(friend, (round(friend.shape[1] * scale), h))[:, :w]
    pad = np.full((h, w, 3), 128, dtype=np.uint8)
    pad[:, :friend.shape[1]] = friend
    spliced = [_jpeg(pad) if 5 <= i <= 8 else _jpeg(f) for i, f in enumerate(burst)]
    result = check_liveness(spliced, _challenge(R, L, prompts=(800, 1800)), template_of(MIRANDA), recognizer, settings,
                            now=LATER, frame_times=times)
    assert not result.passed
    codes = [r.code for r in result.reasons]
    # the friend's face is elsewhere in the frame: the cut to it and back is a jump
    assert "burst_discontinuous" in codes, result.reasons


def test_an_expired_challenge_fails_before_any_face_work(clip_frames, template_of, recognizer, settings):
    burst, times = _burst(clip_frames, 90, 210, 12), _times(90, 210, 12)
    late = NOW + timedelta(minutes=3)
    result = check_liveness(burst, _challenge(L, R, L, R), template_of(MIRANDA), recognizer, settings, now=late,
                            frame_times=times)
    assert not result.passed and [r.code for r in result.reasons] == ["challenge_expired"]


def test_every_frame_gets_a_replay_fingerprint_that_survives_re_encoding(clip_frames, template_of, recognizer, settings):
    burst, times = _burst(clip_frames, 90, 210, 12), _times(90, 210, 12)
    result = check_liveness(burst, _challenge(L, R, L, R), template_of(MIRANDA), recognizer, settings, now=LATER,
                            frame_times=times)
    assert len(result.fingerprints) == len(burst)
    assert all(len(f) == 16 for f in result.fingerprints)
    assert len(set(result.fingerprints)) == len(burst)
    from recognition import hamming

    again = check_liveness([_jpeg(f) for f in burst], _challenge(L, R, L, R), template_of(MIRANDA), recognizer, settings,
                           now=LATER, frame_times=times)
    close = [hamming(a, b) <= settings.fingerprint_match_bits for a, b in zip(result.fingerprints, again.fingerprints, strict=True)]
    assert sum(close) >= 0.8 * len(burst)


def _turn_flat_photo(rgb: np.ndarray, degrees: float) -> np.ndarray:
    """The photo as a camera sees a flat print of it turned about its vertical axis."""
    import math

    import cv2

    h, w = rgb.shape[:2]
    theta, focal, cx, cy = math.radians(degrees), 1.2 * w, w / 2, h / 2
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = []
    for x, y in src:
        depth = (x - cx) * math.sin(theta) + focal
        dst.append([cx + focal * (x - cx) * math.cos(theta) / depth, cy + focal * (y - cy) / depth])
    matrix = cv2.getPerspectiveTransform(src, np.float32(dst))
    return cv2.warpPerspective(rgb, matrix, (w, h), borderValue=(128, 128, 128))


def test_a_printed_photo_turned_left_and_right_in_front_of_the_camera_shows_no_head_turn(
        fr_images, template_of, recognizer, settings):
    # A flat face has no depth: turning the print foreshortens nose and eyes alike, so the
    # nose-to-eyes ratio barely moves (measured: 0.07..0.16 for -40..+40 degrees).
    photo = np.asarray(Image.open(fr_images / MIRANDA).convert("RGB"))
    angles = [0, 15, 30, 40, 30, 15, 0, -15, -30, -40, -30, -15]
    frames = [_jpeg(_turn_flat_photo(photo, a)) for a in angles]
    result = check_liveness(frames, _challenge(L, R, prompts=(500, 1500)), template_of(MIRANDA), recognizer, settings,
                            LATER, frame_times=[i * 250.0 + i % 3 for i in range(len(frames))])
    assert not result.passed
    assert [r.code for r in result.reasons] == ["motion_not_seen"]  # frames differ, face matches


def test_one_still_re_encoded_at_different_jpeg_qualities_still_counts_as_one_still(
        fr_images, template_of, recognizer, settings):
    photo = np.asarray(Image.open(fr_images / MIRANDA).convert("RGB"))
    frames = []
    for quality in (95, 90, 85, 80, 75, 70, 65, 60, 55, 50):
        out = io.BytesIO()
        Image.fromarray(photo).save(out, "JPEG", quality=quality)
        frames.append(out.getvalue())
    result = check_liveness(frames, _challenge(L, R, prompts=(500, 1500)), template_of(MIRANDA), recognizer, settings,
                            LATER, frame_times=[i * 250.0 + i % 3 for i in range(len(frames))])
    assert not result.passed
    assert "frames_identical" in [r.code for r in result.reasons]
