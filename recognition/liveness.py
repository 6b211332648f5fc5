"""Active liveness: a random challenge (turns and tilts, prompted at random times) and the check of
a short burst of timed frames against it.

Why: a still photo of a trainee matches their template easily (grayscale, JPEG q10, a 4x smaller
copy all stay under distance 0.5), so a selfie proves nothing; and a photo warped to imitate head
turns, or a recording of the trainee spliced to show the asked motions, must fail too. A burst
passes only if everything below holds:

- **time**: every frame carries its capture time (ms since the burst began); the times run
  forwards, close together, after the challenge was issued, and the burst lasts until the last
  motion could be done;
- **motions**: the asked motions happen in the asked order, each starting after its own prompt
  (the prompt times are random and part of the challenge) and soon enough after it; no turn
  that was not asked;
- **continuity**: between consecutive frames the face moves a plausible amount (a splice of a
  recording, or a cut, jumps);
- **depth**: as the head turns, the far eye narrows with the yaw (``faces.Pose``); a flat photo,
  however it is sheared or turned, keeps the ratio of the eye widths;
- **not mirrored**: no frame is the mirror image of another frame of the burst (one photo
  flipped to show the other turn), and the service compares every frame, and its mirror image,
  with the trainee's earlier frames (a replay flipped to look new);
- **identity**: the enrolled face on the whole burst (recognition/identity.py), one person
  throughout; their mean (the fused probe) is what the three-way rule judges;
- not copies of one still.

Landmarks are dlib's 5-point model (CC0); the 68-point model is not used (its training data's
licence forbids commercial use), so there is no blink: a blink from eye-aspect ratios was also
fakeable with painted lids.

Direction convention: "turn_left" is the trainee turning to their OWN left. In an unmirrored
camera frame (what phones upload; the mirrored selfie *preview* is only a display effect) that
moves the nose towards the image's right edge, i.e. ``yaw > 0``; "tilt_left" (left ear towards
the left shoulder) makes ``roll > 0``. If a client sends mirrored frames, set
``RecognitionSettings.frames_mirrored``.

Cost: the face is detected once on a 480 px copy of the frame (upsample 0) and then tracked in
a small grey window around its last position; landmarks (5 points, ~1 ms) run on every frame;
encoding (~75 ms a frame) runs on up to ``liveness_max_encoded_frames`` frames and is most of
the time. ``python -m recognition.bench`` prints the cost.
"""
from __future__ import annotations

import io
import itertools
import math
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from recognition.faces import Box, Pose, Recognizer, detect_faces, pose
from recognition.identity import REFUSE, REVIEW, IdentityDecision, decide, fuse
from recognition.images import ImageError, LoadedImage, as_loaded, hamming, thumbnail
from recognition.matching import Template
from recognition.quality import significant_faces
from recognition.reasons import Reason, reason, reasons_evidence
from recognition.settings import RecognitionSettings

TURN_LEFT = "turn_left"
TURN_RIGHT = "turn_right"
TILT_LEFT = "tilt_left"
TILT_RIGHT = "tilt_right"
TURNS = frozenset({TURN_LEFT, TURN_RIGHT})
TILTS = frozenset({TILT_LEFT, TILT_RIGHT})

#: what the phone page shows for each step.
STEP_MESSAGES: dict[str, str] = {
    TURN_LEFT: "请缓慢向左转头",
    TURN_RIGHT: "请缓慢向右转头",
    TILT_LEFT: "请向左歪头（左耳靠向左肩）",
    TILT_RIGHT: "请向右歪头（右耳靠向右肩）",
}


@dataclass(frozen=True)
class Challenge:
    """What the trainee is asked to do and when, bound to a one-time nonce and an expiry (UTC).

    ``prompts_ms``: when each step is shown, in ms from the start of the burst (the first frame's
    time origin). A challenge without one prompt time per step fails every burst (fail closed).
    """

    nonce: str
    steps: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    prompts_ms: tuple[int, ...] = ()

    @property
    def instructions(self) -> tuple[str, ...]:
        """The Chinese instruction for each step, in order."""
        return tuple(STEP_MESSAGES[s] for s in self.steps)


@dataclass(frozen=True)
class FrameObservation:
    """What was measured on one frame of a burst (no image data, no encoding)."""

    index: int
    time_ms: float | None
    fingerprint: str
    faces: int
    yaw: float | None
    roll: float | None
    asymmetry: float | None
    distance: float | None  # only for the frames that were encoded


@dataclass(frozen=True)
class LivenessResult:
    """The liveness decision and its evidence. ``fingerprints`` are per-frame 64-bit hashes (hex)
    so the service can flag frames it has already seen (a replayed burst): of the face, aligned
    by its landmarks, where a face was found (robust to crops, small rotations and relighting),
    of the whole frame otherwise."""

    passed: bool
    reasons: tuple[Reason, ...]
    nonce: str
    steps: tuple[str, ...]
    events: tuple[str, ...]
    frames: tuple[FrameObservation, ...]
    fingerprints: tuple[str, ...]
    #: frames encoded for identity, and how many of those lie near the burst's median encoding
    encoded_frames: int
    matched_frames: int
    #: distance of the fused probe (the mean of the encoded frames) to the template
    best_distance: float | None
    threshold: float
    model_name: str
    model_version: str
    #: the three-way identity decision on the fused probe (None: identity could not be judged).
    #: ``passed`` means nothing was refused; ``identity.outcome`` may still be REVIEW.
    identity: IdentityDecision | None = None
    #: the fused encoding, for the caller's 1:N checks. Biometric: never stored, never logged,
    #: not in ``evidence()``.
    probe: NDArray[np.float64] | None = field(default=None, repr=False)
    #: the measures of the time, motion, continuity, depth and mirror tests (JSON-ready)
    measures: dict[str, Any] = field(default_factory=dict)
    #: injection signals: never decide alone; the service flags the event for a person
    signals: tuple[Reason, ...] = ()
    #: each frame's fingerprint of its mirror image: compared with earlier frames, never stored
    mirror_fingerprints: tuple[str, ...] = ()

    @property
    def needs_review(self) -> bool:
        return self.passed and self.identity is not None and self.identity.outcome == REVIEW

    def evidence(self) -> dict[str, Any]:
        """JSON-ready evidence for the check-in record: decision, challenge, motions seen,
        identity figures, per-frame measures and fingerprints. No image, no encoding."""

        def r(value: float | None, digits: int) -> float | None:
            return None if value is None else round(value, digits)

        return {
            "passed": self.passed,
            "nonce": self.nonce,
            "steps": list(self.steps),
            "events": list(self.events),
            "encoded_frames": self.encoded_frames,
            "matched_frames": self.matched_frames,
            "best_distance": r(self.best_distance, 4),
            "threshold": round(self.threshold, 4),
            "identity": None if self.identity is None else self.identity.evidence(),
            "model_name": self.model_name,
            "model_version": self.model_version,
            "reasons": reasons_evidence(self.reasons),
            "signals": reasons_evidence(self.signals),
            "measures": self.measures,
            "frames": [
                {"index": f.index, "time_ms": f.time_ms, "fingerprint": f.fingerprint, "faces": f.faces,
                 "yaw": r(f.yaw, 3), "roll": r(f.roll, 1), "asymmetry": r(f.asymmetry, 3),
                 "distance": r(f.distance, 4)}
                for f in self.frames
            ],
        }


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (UTC)")


def _step_allowed(steps: Sequence[str], step: str) -> bool:
    """Two equal steps never follow each other, and turns alternate among turns (tilts among
    tilts): "left, tilt, left" cannot be told apart from one long "left"."""
    if steps and steps[-1] == step:
        return False
    same_kind = TURNS if step in TURNS else TILTS if step in TILTS else frozenset({step})
    earlier = [s for s in steps if s in same_kind]
    return not earlier or earlier[-1] != step


def valid_sequences(settings: RecognitionSettings) -> list[tuple[str, ...]]:
    """Every step sequence a challenge may ask (the challenge space, before timing)."""
    out = []
    for seq in itertools.product(settings.challenge_actions, repeat=settings.challenge_steps):
        if all(_step_allowed(seq[:i], s) for i, s in enumerate(seq)) \
                and sum(s in TURNS for s in seq) >= settings.challenge_min_turns:
            out.append(seq)
    return out


def new_challenge(rng: random.Random | None, now: datetime,
                  settings: RecognitionSettings | None = None) -> Challenge:
    """Issue a random challenge of ``settings.challenge_steps`` steps, each prompted at a random
    time, expiring after ``challenge_ttl_seconds``.

    ``rng`` picks the steps and times (pass ``secrets.SystemRandom()`` in production, a seeded
    Random in tests); the nonce always comes from ``secrets`` so it is unguessable whatever rng
    is passed.
    """
    settings = settings or RecognitionSettings()
    _require_aware(now)
    rng = rng or secrets.SystemRandom()
    if not settings.challenge_actions or settings.challenge_steps < 1:
        raise ValueError("challenge needs at least one action and one step")
    sequences = valid_sequences(settings)
    if not sequences:
        raise ValueError(f"cannot build {settings.challenge_steps} steps from {settings.challenge_actions}")
    steps = rng.choice(sequences)
    prompts = [rng.randint(*settings.prompt_first_ms)]
    for _ in steps[1:]:
        prompts.append(prompts[-1] + rng.randint(*settings.prompt_gap_ms))
    return Challenge(nonce=secrets.token_hex(16), steps=tuple(steps), issued_at=now,
                     expires_at=now + timedelta(seconds=settings.challenge_ttl_seconds),
                     prompts_ms=tuple(round(p, -1) for p in prompts))


# --- time -------------------------------------------------------------------------------------


def capture_time_reasons(times: Sequence[float], challenge: Challenge, now: datetime,
                         settings: RecognitionSettings) -> list[Reason]:
    """What is wrong with a burst's capture times (ms since the burst began), judged against the
    challenge's prompts and the server's clock. The phone's clock is never compared with the
    server's: only elapsed times are."""
    out: list[Reason] = []
    if not all(isinstance(t, (int, float)) and math.isfinite(t) for t in times):
        return [reason("capture_times_missing", "capture times must be numbers")]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    if any(g <= 0 for g in gaps) or times[0] < 0:
        out.append(reason("frames_out_of_order", f"times {[round(t) for t in times]}"))
        return out
    if max(gaps, default=0) > settings.capture_max_gap_ms:
        out.append(reason("capture_gap", f"largest gap {max(gaps):.0f} ms > {settings.capture_max_gap_ms} ms"))
    span_s = (times[-1] - times[0]) / 1000
    if span_s > settings.liveness_max_burst_seconds:
        out.append(reason("burst_too_long", f"{span_s:.1f} s > {settings.liveness_max_burst_seconds:.1f} s"))
    elapsed_ms = (now - challenge.issued_at).total_seconds() * 1000
    if times[-1] > elapsed_ms + settings.capture_clock_slack_ms:
        out.append(reason("burst_before_challenge",
                          f"burst runs {times[-1]:.0f} ms but the challenge was issued {elapsed_ms:.0f} ms ago"))
    if challenge.prompts_ms:
        last = challenge.prompts_ms[-1]
        if times[-1] < last + settings.burst_tail_min_ms:
            out.append(reason("burst_ended_early", f"last frame at {times[-1]:.0f} ms, last prompt at {last} ms"))
        elif times[-1] > last + settings.prompt_reaction_ms + settings.burst_tail_max_ms:
            out.append(reason("burst_too_long", f"last frame at {times[-1]:.0f} ms, last prompt at {last} ms"))
        if times[0] > challenge.prompts_ms[0]:
            out.append(reason("burst_ended_early", f"first frame at {times[0]:.0f} ms, after the first prompt"))
    return out


def regular_times_signal(times: Sequence[float], settings: RecognitionSettings) -> Reason | None:
    """Injection signal: capture gaps that do not jitter at all were written by a program (a
    browser's timers and a camera's frame clock wander by milliseconds)."""
    gaps = np.diff(np.asarray(times, dtype=float))
    if len(gaps) >= 5 and float(np.std(gaps)) < settings.capture_min_jitter_ms:
        return reason("capture_times_regular", f"gap spread {float(np.std(gaps)):.2f} ms over {len(gaps)} gaps")
    return None


def jpeg_signature(data: bytes) -> str | None:
    """The encoder's fingerprint of a JPEG (its quantisation tables and chroma subsampling), or
    None for other formats. Frames of one burst come from one encoder (the page's canvas)."""
    if not data.startswith(b"\xff\xd8"):
        return None
    from PIL import Image, JpegImagePlugin

    try:
        with Image.open(io.BytesIO(data)) as img:
            tables = getattr(img, "quantization", None) or {}
            sampling = JpegImagePlugin.get_sampling(img)
    except Exception:  # noqa: BLE001 - the decoder judges broken files; here it is just "unknown"
        return "unreadable"
    return repr((sorted((k, tuple(v)) for k, v in tables.items()), sampling))


# --- motions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Motion:
    """One motion seen in a burst: its kind, the frame it starts in and its strongest frame."""

    kind: str
    start: int
    peak: int


def _baseline(values: Sequence[float], clamp: float) -> float:
    median = float(np.median(values)) if values else 0.0
    return min(max(median, -clamp), clamp)


def frame_motions(poses: Sequence[Pose | None], settings: RecognitionSettings) -> list[tuple[str | None, str | None]]:
    """Per frame: the turn and the tilt it shows (or None). Frames without a face show nothing.

    Turns and tilts are measured from the burst's median pose, not from zero: a phone held off to
    one side shows a frontal face at a constant yaw offset, and the median of a burst that swings
    both ways sits near that neutral pose. The baselines are clamped so that a burst spent mostly
    turned one way does not make the frontal frames look like a turn the other way.
    """
    seen = [p for p in poses if p is not None]
    yaw0 = _baseline([p.yaw for p in seen], settings.turn_baseline_max)
    roll0 = _baseline([p.roll for p in seen], settings.tilt_baseline_max)
    sign = -1.0 if settings.frames_mirrored else 1.0
    out: list[tuple[str | None, str | None]] = []
    for p in poses:
        if p is None:
            out.append((None, None))
            continue
        yaw, roll = sign * (p.yaw - yaw0), sign * (p.roll - roll0)
        turn = TURN_LEFT if yaw >= settings.turn_yaw else TURN_RIGHT if yaw <= -settings.turn_yaw else None
        tilt = TILT_LEFT if roll >= settings.tilt_degrees else TILT_RIGHT if roll <= -settings.tilt_degrees else None
        out.append((turn, tilt))
    return out


def motions(poses: Sequence[Pose | None], settings: RecognitionSettings) -> list[Motion]:
    """The motions seen in a burst, in order of their start: turns collapsed (left, neutral, left
    is one left turn) and tilts likewise. Frames without a face are skipped."""
    labels = frame_motions(poses, settings)
    found: list[Motion] = []
    for axis, group in ((0, TURNS), (1, TILTS)):
        last: str | None = None
        current: list[int] = []
        kind: str | None = None
        strength = [0.0 if p is None else abs(p.yaw if axis == 0 else p.roll) for p in poses]
        for i, label in enumerate(labels):
            value = label[axis]
            if value is None or value not in group:
                continue
            if value != last:
                if current and kind is not None:
                    found.append(Motion(kind, current[0], max(current, key=lambda k: strength[k])))
                current, kind, last = [i], value, value
            else:
                current.append(i)
        if current and kind is not None:
            found.append(Motion(kind, current[0], max(current, key=lambda k: strength[k])))
    return sorted(found, key=lambda m: m.start)


def steps_satisfied(steps: Sequence[str], events: Sequence[str], strict_turns: bool) -> tuple[bool, bool]:
    """(all steps seen in order, no unasked turns). Steps are matched greedily as a subsequence
    of the events; with ``strict_turns`` the turns seen must be exactly the turns asked."""
    pos = 0
    for event in events:
        if pos < len(steps) and event == steps[pos]:
            pos += 1
    in_order = pos == len(steps)
    asked_turns = [s for s in steps if s in TURNS]
    seen_turns = [e for e in events if e in TURNS]
    no_extra = (not strict_turns) or asked_turns == seen_turns
    return in_order, no_extra


def match_prompts(challenge: Challenge, seen: Sequence[Motion], times: Sequence[float],
                  settings: RecognitionSettings) -> tuple[list[Motion] | None, list[dict[str, Any]]]:
    """Each step's motion: the first motion of its kind, after the previous step's, that starts
    no earlier than its prompt (less ``prompt_early_ms``). Returns the matched motions (None if a
    step has none, or started too late) and, per step, its prompt and start times as evidence."""
    matched: list[Motion] = []
    timing: list[dict[str, Any]] = []
    after = -1
    ok = True
    for step, prompt in zip(challenge.steps, challenge.prompts_ms, strict=True):
        found = next((m for m in seen if m.kind == step and m.start > after
                      and times[m.start] >= prompt - settings.prompt_early_ms), None)
        start = None if found is None else times[found.start]
        timing.append({"step": step, "prompt_ms": prompt, "start_ms": start})
        if found is None or start is None or start > prompt + settings.prompt_reaction_ms:
            ok = False
            continue
        matched.append(found)
        after = found.start
    return (matched if ok else None), timing


# --- continuity and depth ---------------------------------------------------------------------


def continuity(poses: Sequence[Pose | None], times: Sequence[float]) -> dict[str, float]:
    """The fastest change between consecutive frames with a face, per second of capture time:
    eye-midpoint movement (in eye spans), eye-span scale (log), yaw, roll (degrees)."""
    worst = {"centre": 0.0, "scale": 0.0, "yaw": 0.0, "roll": 0.0}
    previous: tuple[Pose, float] | None = None
    for p, t in zip(poses, times, strict=True):
        if p is None or p.span <= 0:
            continue
        if previous is not None:
            q, tq = previous
            dt = max((t - tq) / 1000, 1e-3)
            moved = math.hypot(p.centre[0] - q.centre[0], p.centre[1] - q.centre[1]) / q.span
            worst["centre"] = max(worst["centre"], moved / dt)
            worst["scale"] = max(worst["scale"], abs(math.log(p.span / q.span)) / dt)
            worst["yaw"] = max(worst["yaw"], abs(p.yaw - q.yaw) / dt)
            worst["roll"] = max(worst["roll"], abs(p.roll - q.roll) / dt)
        previous = (p, t)
    return worst


def continuity_reasons(speeds: dict[str, float], settings: RecognitionSettings) -> list[Reason]:
    limits = {"centre": settings.continuity_max_centre_speed, "scale": settings.continuity_max_scale_speed,
              "yaw": settings.continuity_max_yaw_speed, "roll": settings.continuity_max_roll_speed}
    over = [f"{k} {speeds[k]:.2f}/s > {limit}" for k, limit in limits.items() if speeds[k] > limit]
    return [reason("burst_discontinuous", "; ".join(over))] if over else []


def depth(poses: Sequence[Pose | None], settings: RecognitionSettings) -> dict[str, float] | None:
    """How the eyes' width asymmetry follows the yaw across the burst (slope and correlation of
    a straight-line fit), or None when the yaw spans less than one turn (nothing to judge)."""
    seen = [p for p in poses if p is not None]
    yaws = np.array([p.yaw for p in seen])
    asym = np.array([p.asymmetry for p in seen])
    if len(seen) < 3 or float(np.ptp(yaws)) < settings.turn_yaw or float(np.std(asym)) == 0.0:
        if len(seen) >= 3 and float(np.ptp(yaws)) >= settings.turn_yaw:
            return {"slope": 0.0, "correlation": 0.0, "yaw_range": float(np.ptp(yaws))}
        return None
    slope = float(np.polyfit(yaws, asym, 1)[0])
    corr = float(np.corrcoef(yaws, asym)[0, 1])
    return {"slope": slope, "correlation": corr, "yaw_range": float(np.ptp(yaws))}


def depth_reasons(measured: dict[str, float] | None, settings: RecognitionSettings) -> list[Reason]:
    if measured is None:
        return []
    if measured["slope"] < settings.depth_min_slope or measured["correlation"] < settings.depth_min_correlation:
        return [reason("face_flat", f"asymmetry/yaw slope {measured['slope']:.2f} (min {settings.depth_min_slope}), "
                                    f"correlation {measured['correlation']:.2f} (min {settings.depth_min_correlation})")]
    return []


# --- replay fingerprints ----------------------------------------------------------------------


def face_fingerprint(grey: np.ndarray, landmarks: np.ndarray) -> tuple[str, str]:
    """64-bit perceptual hash (hex) of the face aligned by its eyes: a 32x32 crop with the eye
    centres at fixed places (so a crop, a shift, a small rotation or a rescale of the frame
    gives the same crop), then the signs of its 8x8 lowest DCT frequencies against their median
    (so a change of brightness or contrast changes no bit). Honest check-ins of one person differ
    by pose, expression and light far more than a re-encoded or perturbed copy does.

    Returns the hash and the hash of the crop's mirror image: the alignment targets are
    symmetric, so a mirrored frame gives the mirrored crop, and its hash is the second one."""
    eye_a, eye_b = landmarks[0:2].mean(axis=0), landmarks[2:4].mean(axis=0)
    if eye_a[0] > eye_b[0]:
        eye_a, eye_b = eye_b, eye_a
    src = np.array([eye_a, eye_b, landmarks[4]], dtype=np.float32)
    # where the eyes and the nose base fall in the 32 px crop (a face roughly fills it)
    dst = np.array([(9.5, 11.0), (21.5, 11.0), (15.5, 19.0)], dtype=np.float32)  # symmetric about the crop's centre line
    matrix, _ = cv2.estimateAffinePartial2D(src, dst)
    if matrix is None:
        whole = _frame_fingerprint(grey)
        return whole, whole
    crop = cv2.warpAffine(grey, matrix, (32, 32), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    return _dct_hash(crop), _dct_hash(np.ascontiguousarray(crop[:, ::-1]))


def _dct_hash(grey32: np.ndarray) -> str:
    coeffs = cv2.dct(grey32.astype(np.float32))[:8, :8].flatten()[1:]  # without the mean (DC)
    bits = coeffs > np.median(coeffs)
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return f"{value:016x}"


def _frame_fingerprint(grey: np.ndarray) -> str:
    """The whole frame's hash, for frames without a face."""
    return _dct_hash(thumbnail(grey))


def mirrored_frames(fingerprints: Sequence[str], mirrors: Sequence[str], has_face: Sequence[bool],
                    settings: RecognitionSettings) -> list[tuple[int, int]]:
    """Pairs (i, j) where frame i is the mirror image of frame j (one photo flipped to show the
    other turn). On the shared clip no honest pair of frames comes within 10 bits of another's
    mirror; a mirrored copy comes within 8."""
    found = []
    faces = [i for i, f in enumerate(has_face) if f]
    for i in faces:
        for j in faces:
            if i == j:
                continue
            to_mirror = hamming(fingerprints[i], mirrors[j])
            if to_mirror <= settings.fingerprint_match_bits and \
                    hamming(fingerprints[i], fingerprints[j]) >= to_mirror + settings.mirror_min_gap_bits:
                found.append((i, j))
                break
    return found


def consecutive_differences(greys: Sequence[np.ndarray]) -> list[float]:
    """Mean absolute grey difference between each frame and the next (same-size grey arrays)."""
    diffs = [float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16)))) for a, b in zip(greys, greys[1:], strict=False)]
    return diffs


# --- tracking ---------------------------------------------------------------------------------


def _detect_near(img: LoadedImage, previous: Box, recognizer: Recognizer,
                 settings: RecognitionSettings, margin: float) -> list[Box]:
    """Detect in a window around the previous frame's face (``margin`` of its size added per
    side), reduced so the face is about ``liveness_track_face_px`` wide: a few milliseconds
    instead of a whole-frame scan."""
    dx, dy = round(previous.width * margin), round(previous.height * margin)
    window = Box(previous.left - dx, previous.top - dy, previous.right + dx,
                 previous.bottom + dy).clipped(img.width, img.height)
    if window.area == 0:
        return []
    crop = np.ascontiguousarray(img.rgb[window.top:window.bottom, window.left:window.right])
    factor = min(1.0, settings.liveness_track_face_px / max(1, previous.width))
    if factor < 1.0:
        size = (max(1, round(crop.shape[1] * factor)), max(1, round(crop.shape[0] * factor)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    # HOG on grey levels: a quarter cheaper than on RGB (dlib takes the strongest gradient of
    # three channels), and a window already centred on a face needs no colour to confirm it.
    crop = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    found = recognizer.detect(crop, settings.liveness_detect_upsample)
    return [Box(window.left + round(b.left / factor), window.top + round(b.top / factor),
                window.left + round(b.right / factor), window.top + round(b.bottom / factor))
            .clipped(img.width, img.height) for b in found]


def track_faces(loaded: Sequence[LoadedImage], recognizer: Recognizer,
                settings: RecognitionSettings) -> tuple[list[Box | None], list[int]]:
    """The trainee's face box in each frame (None: no single face) and how many significant
    faces were seen.

    The first frame, and any frame where the face is lost, get a whole-frame detection (which
    also catches a second person); the others search only near the previous face (~2 ms instead
    of ~10 ms), then in a wider window (~5 ms). A cut to another scene finds nothing near the
    old box and falls back to the whole frame. Trade-off: a second person stepping in mid-burst, away from the trainee's face, is
    not looked for.
    """
    boxes: list[Box | None] = []
    counts: list[int] = []
    previous: Box | None = None
    for img in loaded:
        main: list[Box] = []
        for margin in (settings.liveness_track_margin, settings.liveness_track_retry_margin):
            if previous is None or len(main) == 1:
                break
            main = significant_faces(_detect_near(img, previous, recognizer, settings, margin), settings)
        if len(main) != 1:
            found = detect_faces(img, recognizer, settings.liveness_detect_max_side,
                                 settings.liveness_detect_upsample)
            if not found and settings.liveness_detect_retry_side > settings.liveness_detect_max_side \
                    and max(img.width, img.height) > settings.liveness_detect_max_side:
                found = detect_faces(img, recognizer, settings.liveness_detect_retry_side,
                                     settings.liveness_detect_upsample)
            main = significant_faces(found, settings)
        counts.append(len(main))
        previous = main[0] if len(main) == 1 else None
        boxes.append(previous)
    return boxes, counts


def frames_to_encode(with_face: Sequence[int], peaks: Sequence[int], moving: Sequence[int],
                     settings: RecognitionSettings) -> list[int]:
    """Which frames carry identity, within ``liveness_max_encoded_frames``: the peak frame of
    every motion (a friend performing the turns while the trainee's frontal frames are checked
    is the attack), then other frames spread over the burst so that no two chosen frames are
    more than ``liveness_encode_gap`` apart where the budget allows; motion frames before
    still ones."""
    del moving  # every frame with a face may carry identity; the peaks are the motion frames that must
    budget = settings.liveness_max_encoded_frames
    chosen = list(dict.fromkeys(i for i in peaks if i in set(with_face)))[:budget]
    rest = [i for i in with_face if i not in set(chosen)]
    spread: list[int] = []
    last: int | None = None
    for i in rest:
        if last is None or i - last >= settings.liveness_encode_gap or i == rest[-1]:
            spread.append(i)
            last = i
    room = budget - len(chosen)
    if room > 0 and spread:
        if len(spread) > room:
            picks = np.linspace(0, len(spread) - 1, room).round().astype(int)
            spread = [spread[k] for k in dict.fromkeys(picks.tolist())]
        chosen += spread
    return sorted(set(chosen))


def check_liveness(frames: Sequence[bytes | np.ndarray | LoadedImage], challenge: Challenge,
                   template: Template, recognizer: Recognizer,
                   settings: RecognitionSettings | None, now: datetime, *,
                   frame_times: Sequence[float] | None = None,
                   cohort: Sequence[float] | None = None) -> LivenessResult:
    """Judge a burst of frames (image bytes, or RGB uint8 arrays from a video) against a
    challenge. Passes only if nothing below fails; never raises on bad input (fails closed).

    ``frame_times``: each frame's capture time in ms since the burst began (required: a burst
    without them fails). ``now`` is the server time the burst was received, timezone-aware.
    ``cohort``: distances from the template to other people's templates in the deployment, for
    the template's own thresholds (``identity.decide``).
    """
    settings = settings or RecognitionSettings()
    thr = settings.match_threshold
    measures: dict[str, Any] = {"prompts_ms": list(challenge.prompts_ms)}
    signals: list[Reason] = []
    mirrors: list[str] = []

    def result(reasons: list[Reason], events: Sequence[str] = (), observations: Sequence[FrameObservation] = (),
               fingerprints: Sequence[str] = (), encoded: int = 0, matched: int = 0, best: float | None = None,
               identity: IdentityDecision | None = None, probe: NDArray[np.float64] | None = None) -> LivenessResult:
        passed = not reasons
        final = tuple(reasons) if reasons else (reason("liveness_passed", f"{encoded} frames encoded, one person"),)
        # the threshold this template's distance was judged against (the deployment's, shifted)
        used = identity.accept_below if identity is not None else thr
        return LivenessResult(passed, final, challenge.nonce, challenge.steps, tuple(events),
                              tuple(observations), tuple(fingerprints), encoded, matched, best, used,
                              recognizer.model_name, recognizer.model_version, identity, probe,
                              measures, tuple(signals), tuple(mirrors))

    _require_aware(now)  # a naive clock is a programming error, not a failed check
    try:
        if now >= challenge.expires_at:
            return result([reason("challenge_expired", f"expired at {challenge.expires_at.isoformat()}")])
        if len(frames) < settings.liveness_min_frames:
            return result([reason("too_few_frames", f"{len(frames)} < {settings.liveness_min_frames}")])
        if len(frames) > settings.liveness_max_frames:
            return result([reason("too_many_frames", f"{len(frames)} > {settings.liveness_max_frames}")])
        if len(challenge.prompts_ms) != len(challenge.steps):
            return result([reason("liveness_error", "challenge has no prompt time per step")])
        if frame_times is None or len(frame_times) != len(frames):
            return result([reason("capture_times_missing",
                                  f"{0 if frame_times is None else len(frame_times)} times for {len(frames)} frames")])
        times = [float(t) for t in frame_times]
        reasons = capture_time_reasons(times, challenge, now, settings)
        if any(r.code in ("frames_out_of_order", "capture_times_missing") for r in reasons):
            return result(reasons)
        measures["times_ms"] = [round(t) for t in times]
        regular = regular_times_signal(times, settings)
        if regular is not None:
            signals.append(regular)
        encoders = {jpeg_signature(bytes(f)) for f in frames if isinstance(f, (bytes, bytearray, memoryview))}
        if len(encoders) > 1:
            signals.append(reason("frames_mixed_encoders", f"{len(encoders)} different JPEG encoder settings"))
        if (template.model_name, template.model_version) != (recognizer.model_name, recognizer.model_version):
            return result([reason("model_mismatch", f"template {template.model_name} {template.model_version}")])

        loaded: list[LoadedImage] = []
        for i, frame in enumerate(frames):
            try:
                loaded.append(as_loaded(frame, settings))
            except ImageError as exc:
                return result([Reason(exc.code, f"第{i + 1}帧：{exc.message}", f"frame {i + 1}: {exc.detail}")])
        small = [thumbnail(img.rgb) for img in loaded]

        # Copies of one still: nearly no pixel changes between consecutive frames.
        diffs = consecutive_differences(small)
        still = sum(d < settings.still_frame_max_diff for d in diffs)
        if still > settings.liveness_max_still_fraction * len(diffs):
            reasons.append(reason("frames_identical", f"{still} of {len(diffs)} consecutive frame pairs unchanged"))

        # Landmarks on every frame (cheap); detection tracked from frame to frame.
        boxes, counts = track_faces(loaded, recognizer, settings)
        poses: list[Pose | None] = []
        fingerprints: list[str] = []
        for img, box, thumb in zip(loaded, boxes, small, strict=True):
            if box is None:
                poses.append(None)
                fingerprints.append(_frame_fingerprint(thumb))
                mirrors.append(_frame_fingerprint(np.ascontiguousarray(thumb[:, ::-1])))
                continue
            marks = recognizer.landmarks(img.rgb, box)
            poses.append(pose(marks))
            as_sent, mirrored = face_fingerprint(cv2.cvtColor(img.rgb, cv2.COLOR_RGB2GRAY), marks)
            fingerprints.append(as_sent)
            mirrors.append(mirrored)
        flipped = mirrored_frames(fingerprints, mirrors, [b is not None for b in boxes], settings)
        if flipped:
            reasons.append(reason("frames_mirrored", "frames " + ", ".join(f"{i + 1} = mirror of {j + 1}" for i, j in flipped)))
        crowded = [i + 1 for i, c in enumerate(counts) if c > 1]
        if crowded:
            reasons.append(reason("multiple_faces", f"frames {crowded}"))
        with_face = [i for i, b in enumerate(boxes) if b is not None]
        if len(with_face) < settings.liveness_min_face_frames:
            reasons.append(reason("face_missing_in_frames",
                                  f"face in {len(with_face)} of {len(frames)} frames < {settings.liveness_min_face_frames}"))

        seen = motions(poses, settings)
        events = [m.kind for m in seen]
        in_order, no_extra = steps_satisfied(challenge.steps, events, settings.liveness_strict_turns)
        matched_motions, timing = match_prompts(challenge, seen, times, settings)
        measures["prompt_timing"] = timing
        if not in_order:
            reasons.append(reason("motion_not_seen", f"asked {list(challenge.steps)}, seen {events}"))
        elif not no_extra:
            reasons.append(reason("unexpected_motion", f"asked {list(challenge.steps)}, seen {events}"))
        elif matched_motions is None:
            reasons.append(reason("motion_not_when_prompted", "; ".join(
                f"{t['step']} prompted at {t['prompt_ms']} ms, started at {t['start_ms']}" for t in timing)))

        speeds = continuity(poses, times)
        measures["continuity"] = {k: round(v, 2) for k, v in speeds.items()}
        reasons += continuity_reasons(speeds, settings)
        measured_depth = depth(poses, settings)
        measures["depth"] = None if measured_depth is None else {k: round(v, 3) for k, v in measured_depth.items()}
        reasons += depth_reasons(measured_depth, settings)

        # Identity on the whole burst: the peak of every motion and frames spread between them
        # are encoded; they must all be one person (each near the burst's median encoding, which
        # a minority of another person's frames cannot move), and their mean is the probe the
        # three-way rule judges.
        labels = frame_motions(poses, settings)
        moving = [i for i in with_face if labels[i] != (None, None)]
        peaks = [m.peak for m in (matched_motions or seen)]
        distances: dict[int, float] = {}
        encodings: dict[int, np.ndarray] = {}
        for i in frames_to_encode(with_face, peaks, moving, settings):
            box = boxes[i]
            assert box is not None  # only frames with a face are chosen
            encodings[i] = recognizer.encode(loaded[i].rgb, box)
            distances[i] = template.distance(encodings[i])
        identity: IdentityDecision | None = None
        probe = None
        consistent = 0
        if len(encodings) < settings.liveness_min_encoded_frames:
            reasons.append(reason("identity_not_confirmed",
                                  f"{len(encodings)} frames with a face to encode < {settings.liveness_min_encoded_frames}"))
        else:
            stack = np.stack(list(encodings.values()))
            centre = np.median(stack, axis=0)
            spread = np.linalg.norm(stack - centre, axis=1)
            consistent = int(np.sum(spread <= settings.burst_frame_max_distance))
            strangers = [i + 1 for i, d in zip(encodings, spread, strict=True) if d > settings.burst_frame_max_distance]
            if strangers:
                reasons.append(reason("identity_changed_in_burst",
                                      f"frames {strangers} are > {settings.burst_frame_max_distance:.2f} from the burst's median face"))
            probe = fuse(list(encodings.values()))
            identity = decide(template.distance(probe), settings, cohort)
            if identity.outcome == REFUSE:
                reasons.append(reason("identity_not_confirmed", identity.reasons[0].detail))
        best = identity.distance if identity is not None else None

        observations = [
            FrameObservation(i, times[i], fingerprints[i], counts[i],
                             None if poses[i] is None else poses[i].yaw,  # type: ignore[union-attr]
                             None if poses[i] is None else poses[i].roll,  # type: ignore[union-attr]
                             None if poses[i] is None else poses[i].asymmetry,  # type: ignore[union-attr]
                             distances.get(i))
            for i in range(len(loaded))
        ]
        return result(reasons, events, observations, fingerprints, len(encodings), consistent, best, identity, probe)
    except Exception as exc:  # fail closed: an error is never a pass
        return result([reason("liveness_error", type(exc).__name__)])
