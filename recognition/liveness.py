"""Active liveness: a random challenge (turn left / turn right / blink, in a random order) and the
check of a short burst of frames against it.

Why: a still photo of a trainee matches their template easily (grayscale, JPEG q10, a 4x smaller
copy all stay under distance 0.5), so a selfie proves nothing. A burst passes only if the enrolled
face is in it, the asked motions happen in the asked order, and the frames are not copies of one
still. Head yaw comes from 68-point landmarks (a flat photo turned in front of the camera keeps
its nose-to-eyes ratio, a real head does not); blinks from the eye aspect ratio.

Direction convention: "turn_left" is the trainee turning to their OWN left. In an unmirrored
camera frame (what phones upload; the mirrored selfie *preview* is only a display effect) that
moves the nose towards the image's right edge, i.e. ``yaw_ratio > 0``. If a client sends mirrored
frames, set ``RecognitionSettings.frames_mirrored``.

Identity is judged on the whole burst (recognition/identity.py): every frame that carries a
motion and frames spread between them are encoded, all must be one person, and their mean (the
fused probe) is what the three-way rule judges.

Cost: the face is detected once on a 480 px copy of the frame (upsample 0) and then tracked in
a small grey window around its last position; landmarks run on every frame; encoding (~75 ms a
frame) runs on up to ``liveness_max_encoded_frames`` frames and is most of the time. Before
identity covered every frame (2-3 frames encoded) a 10-frame burst cost ~210 ms; the benchmark
prints what it costs now.
"""
from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from recognition.faces import Box, Recognizer, detect_faces, eye_aspect_ratio, yaw_ratio
from recognition.identity import REFUSE, REVIEW, IdentityDecision, decide, fuse
from recognition.images import ImageError, LoadedImage, as_loaded, dhash, thumbnail
from recognition.matching import Template
from recognition.quality import significant_faces
from recognition.reasons import Reason, reason, reasons_evidence
from recognition.settings import RecognitionSettings

TURN_LEFT = "turn_left"
TURN_RIGHT = "turn_right"
BLINK = "blink"
TURNS = frozenset({TURN_LEFT, TURN_RIGHT})

#: what the phone page shows for each step.
STEP_MESSAGES: dict[str, str] = {
    TURN_LEFT: "请缓慢向左转头",
    TURN_RIGHT: "请缓慢向右转头",
    BLINK: "请眨眨眼",
}


@dataclass(frozen=True)
class Challenge:
    """What the trainee is asked to do, bound to a one-time nonce and an expiry (UTC)."""

    nonce: str
    steps: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime

    @property
    def instructions(self) -> tuple[str, ...]:
        """The Chinese instruction for each step, in order."""
        return tuple(STEP_MESSAGES[s] for s in self.steps)


@dataclass(frozen=True)
class FrameObservation:
    """What was measured on one frame of a burst (no image data, no encoding)."""

    index: int
    fingerprint: str
    faces: int
    yaw: float | None
    eye_aspect_ratio: float | None
    distance: float | None  # only for the frames that were encoded


@dataclass(frozen=True)
class LivenessResult:
    """The liveness decision and its evidence. ``fingerprints`` are per-frame 64-bit dHashes
    (hex) so the service can flag frames it has already seen (a replayed burst)."""

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

    @property
    def needs_review(self) -> bool:
        return self.passed and self.identity is not None and self.identity.outcome == REVIEW

    def evidence(self) -> dict[str, Any]:
        """JSON-ready evidence for the check-in record: decision, challenge, motions seen,
        identity figures, per-frame measures and fingerprints. No image, no encoding."""
        return {
            "passed": self.passed,
            "nonce": self.nonce,
            "steps": list(self.steps),
            "events": list(self.events),
            "encoded_frames": self.encoded_frames,
            "matched_frames": self.matched_frames,
            "best_distance": None if self.best_distance is None else round(self.best_distance, 4),
            "threshold": self.threshold,
            "identity": None if self.identity is None else self.identity.evidence(),
            "model_name": self.model_name,
            "model_version": self.model_version,
            "reasons": reasons_evidence(self.reasons),
            "frames": [
                {"index": f.index, "fingerprint": f.fingerprint, "faces": f.faces,
                 "yaw": None if f.yaw is None else round(f.yaw, 3),
                 "eye_aspect_ratio": None if f.eye_aspect_ratio is None else round(f.eye_aspect_ratio, 3),
                 "distance": None if f.distance is None else round(f.distance, 4)}
                for f in self.frames
            ],
        }


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (UTC)")


def new_challenge(rng: random.Random | None, now: datetime,
                  settings: RecognitionSettings | None = None) -> Challenge:
    """Issue a random challenge of ``settings.challenge_steps`` steps expiring after
    ``challenge_ttl_seconds``.

    ``rng`` picks the steps (pass ``secrets.SystemRandom()`` in production, a seeded Random in
    tests); the nonce always comes from ``secrets`` so it is unguessable whatever rng is passed.
    Two equal steps never follow each other, and the turns (ignoring blinks) alternate, because
    "left, left" cannot be told apart from one long "left".
    """
    settings = settings or RecognitionSettings()
    _require_aware(now)
    rng = rng or secrets.SystemRandom()
    actions = tuple(settings.challenge_actions)
    if not actions or settings.challenge_steps < 1:
        raise ValueError("challenge needs at least one action and one step")
    steps: list[str] = []
    last_turn: str | None = None
    for _ in range(settings.challenge_steps):
        allowed = [a for a in actions if (not steps or a != steps[-1]) and a != last_turn]
        if not allowed:
            raise ValueError(f"cannot build {settings.challenge_steps} steps from {actions}")
        step = rng.choice(allowed)
        steps.append(step)
        if step in TURNS:
            last_turn = step
    return Challenge(nonce=secrets.token_hex(16), steps=tuple(steps), issued_at=now,
                     expires_at=now + timedelta(seconds=settings.challenge_ttl_seconds))


def _turn_label(yaw: float, baseline: float, settings: RecognitionSettings) -> str | None:
    """Which turn (the trainee's own side) this yaw shows relative to the burst's baseline."""
    signed = yaw - baseline
    signed = -signed if settings.frames_mirrored else signed
    if signed >= settings.turn_yaw:
        return TURN_LEFT
    if signed <= -settings.turn_yaw:
        return TURN_RIGHT
    return None


def frame_motions(yaws: Sequence[float | None], ears: Sequence[float | None],
                  settings: RecognitionSettings) -> list[tuple[str | None, bool]]:
    """Per frame: the turn it shows (or None) and whether its eyes are closed. Frames without a
    face show nothing.

    Turns are measured from the burst's median yaw, not from zero: a phone held off to one side,
    or a stage camera, shows a frontal face at a constant yaw offset (about -0.08 in the shared
    clip), and the median of a burst that swings both ways sits near that neutral pose. The
    baseline is clamped to +-``turn_baseline_max`` so that a burst spent mostly turned one way
    does not make the frontal frames look like a turn the other way.
    """
    measured_yaw = [y for y in yaws if y is not None]
    median_yaw = float(np.median(measured_yaw)) if measured_yaw else 0.0
    baseline = min(max(median_yaw, -settings.turn_baseline_max), settings.turn_baseline_max)
    measured = [e for e in ears if e is not None]
    open_ear = float(np.median(measured)) if measured else 0.0
    can_blink = open_ear >= settings.blink_min_open_ear
    out: list[tuple[str | None, bool]] = []
    for yaw, ear in zip(yaws, ears, strict=True):
        if yaw is None or ear is None:
            out.append((None, False))
            continue
        out.append((_turn_label(yaw, baseline, settings), can_blink and ear <= settings.blink_ratio * open_ear))
    return out


def motion_events(yaws: Sequence[float | None], ears: Sequence[float | None],
                  settings: RecognitionSettings) -> tuple[str, ...]:
    """The motions seen in a burst, in order: turns collapsed (left, neutral, left is one left
    turn) and blinks (a run of closed-eye frames is one blink). Frames without a face are skipped."""
    events: list[str] = []
    last_turn: str | None = None
    in_blink = False
    for (yaw, ear), (turn, closed) in zip(zip(yaws, ears, strict=True), frame_motions(yaws, ears, settings), strict=True):
        if yaw is None or ear is None:
            continue
        if turn is not None and turn != last_turn:
            events.append(turn)
            last_turn = turn
        if closed and not in_blink:
            events.append(BLINK)
        in_blink = closed
    return tuple(events)


def frames_to_encode(with_face: Sequence[int], motions: Sequence[tuple[str | None, bool]],
                     settings: RecognitionSettings) -> list[int]:
    """Which frames carry identity: every frame that shows a motion (a friend performing the turns
    while the trainee's frontal frames are the ones checked is the attack), then enough others
    that no two chosen frames are more than ``liveness_encode_gap`` apart. Over the budget, motion
    frames win, then the coverage frames spread evenly."""
    moving = [i for i in with_face if motions[i][0] is not None or motions[i][1]]
    chosen = set(moving)
    last: int | None = None
    for i in with_face:
        if i in chosen or last is None or i - last >= settings.liveness_encode_gap or i == with_face[-1]:
            chosen.add(i)
            last = i
    budget = settings.liveness_max_encoded_frames
    if len(chosen) <= budget:
        return sorted(chosen)
    keep = moving[:budget]
    if len(keep) < budget:
        rest = [i for i in sorted(chosen) if i not in set(keep)]
        picks = np.linspace(0, len(rest) - 1, budget - len(keep)).round().astype(int)
        keep += [rest[k] for k in dict.fromkeys(picks.tolist())]
    return sorted(keep)


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


def consecutive_differences(greys: Sequence[np.ndarray]) -> list[float]:
    """Mean absolute grey difference between each frame and the next (same-size grey arrays)."""
    diffs = [float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16)))) for a, b in zip(greys, greys[1:], strict=False)]
    return diffs


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


def check_liveness(frames: Sequence[bytes | np.ndarray | LoadedImage], challenge: Challenge,
                   template: Template, recognizer: Recognizer,
                   settings: RecognitionSettings | None, now: datetime, *,
                   frame_times: Sequence[float] | None = None,
                   cohort: Sequence[float] | None = None) -> LivenessResult:
    """Judge a burst of frames (image bytes, or RGB uint8 arrays from a video) against a
    challenge. Passes only if nothing below fails; never raises on bad input (fails closed).

    ``frame_times`` (seconds, optional) lets the burst duration be checked. ``now`` is the server
    time the burst was received, timezone-aware. ``cohort``: distances from the template to other
    people's templates in the deployment, for the template's own thresholds (``identity.decide``).
    """
    settings = settings or RecognitionSettings()
    thr = settings.match_threshold

    def result(reasons: list[Reason], events: Sequence[str] = (), observations: Sequence[FrameObservation] = (),
               fingerprints: Sequence[str] = (), encoded: int = 0, matched: int = 0, best: float | None = None,
               identity: IdentityDecision | None = None, probe: NDArray[np.float64] | None = None) -> LivenessResult:
        passed = not reasons
        final = tuple(reasons) if reasons else (reason("liveness_passed", f"{encoded} frames encoded, one person"),)
        # the threshold this template's distance was judged against (the deployment's, shifted)
        used = identity.accept_below if identity is not None else thr
        return LivenessResult(passed, final, challenge.nonce, challenge.steps, tuple(events),
                              tuple(observations), tuple(fingerprints), encoded, matched, best, used,
                              recognizer.model_name, recognizer.model_version, identity, probe)

    _require_aware(now)  # a naive clock is a programming error, not a failed check
    try:
        if now >= challenge.expires_at:
            return result([reason("challenge_expired", f"expired at {challenge.expires_at.isoformat()}")])
        if len(frames) < settings.liveness_min_frames:
            return result([reason("too_few_frames", f"{len(frames)} < {settings.liveness_min_frames}")])
        if len(frames) > settings.liveness_max_frames:
            return result([reason("too_many_frames", f"{len(frames)} > {settings.liveness_max_frames}")])
        reasons: list[Reason] = []
        if frame_times is not None:
            if len(frame_times) != len(frames):
                return result([reason("liveness_error", "frame_times and frames differ in length")])
            span = max(frame_times) - min(frame_times)
            if span > settings.liveness_max_burst_seconds:
                reasons.append(reason("burst_too_long", f"{span:.1f} s > {settings.liveness_max_burst_seconds:.1f} s"))
        if (template.model_name, template.model_version) != (recognizer.model_name, recognizer.model_version):
            return result([reason("model_mismatch", f"template {template.model_name} {template.model_version}")])

        loaded: list[LoadedImage] = []
        for i, frame in enumerate(frames):
            try:
                loaded.append(as_loaded(frame, settings))
            except ImageError as exc:
                return result([Reason(exc.code, f"第{i + 1}帧：{exc.message}", f"frame {i + 1}: {exc.detail}")])
        small = [thumbnail(img.rgb) for img in loaded]
        fingerprints = [dhash(t) for t in small]

        # Copies of one still: nearly no pixel changes between consecutive frames.
        diffs = consecutive_differences(small)
        still = sum(d < settings.still_frame_max_diff for d in diffs)
        if still > settings.liveness_max_still_fraction * len(diffs):
            reasons.append(reason("frames_identical", f"{still} of {len(diffs)} consecutive frame pairs unchanged"))

        # Landmarks on every frame (cheap); detection tracked from frame to frame.
        yaws: list[float | None] = []
        ears: list[float | None] = []
        boxes, counts = track_faces(loaded, recognizer, settings)
        for img, box in zip(loaded, boxes, strict=True):
            if box is not None:
                marks = recognizer.landmarks(img.rgb, box)
                yaws.append(yaw_ratio(marks))
                ears.append(eye_aspect_ratio(marks))
            else:
                yaws.append(None)
                ears.append(None)
        crowded = [i + 1 for i, c in enumerate(counts) if c > 1]
        if crowded:
            reasons.append(reason("multiple_faces", f"frames {crowded}"))
        with_face = [i for i, b in enumerate(boxes) if b is not None]
        if len(with_face) < settings.liveness_min_face_frames:
            reasons.append(reason("face_missing_in_frames",
                                  f"face in {len(with_face)} of {len(frames)} frames < {settings.liveness_min_face_frames}"))

        events = motion_events(yaws, ears, settings)
        in_order, no_extra = steps_satisfied(challenge.steps, events, settings.liveness_strict_turns)
        if not in_order:
            reasons.append(reason("motion_not_seen", f"asked {list(challenge.steps)}, seen {list(events)}"))
        elif not no_extra:
            reasons.append(reason("unexpected_motion", f"asked {list(challenge.steps)}, seen {list(events)}"))

        # Identity on the whole burst: every motion frame and frames spread between them are
        # encoded; they must all be one person (each near the burst's median encoding, which a
        # minority of another person's frames cannot move), and their mean is the probe the
        # three-way rule judges.
        distances: dict[int, float] = {}
        encodings: dict[int, np.ndarray] = {}
        for i in frames_to_encode(with_face, frame_motions(yaws, ears, settings), settings):
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
            FrameObservation(i, fingerprints[i], counts[i], yaws[i], ears[i], distances.get(i))
            for i in range(len(loaded))
        ]
        return result(reasons, events, observations, fingerprints, len(encodings), consistent, best, identity, probe)
    except Exception as exc:  # fail closed: an error is never a pass
        return result([reason("liveness_error", type(exc).__name__)])
