"""A deterministic fake ``Recognizer`` for unit tests of code that uses the pipeline (the
check-in service), and a helper that makes the photos it understands.

The fake does not look at faces: ``fake_photo`` writes a small description of the faces (who,
pose) into the first pixel rows of a lossless PNG, and ``FakeRecognizer`` reads it
back. Everything else in the pipeline (decoding, quality measures on pixels, matching, motion
logic, assignment) runs for real. Keep fake photos at most 640 px wide so no detection copy is
downscaled (which would blur the description). Real faces are tested with ``DlibRecognizer`` on
the real images in ../shared/faces.
"""
from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from recognition.faces import Box

if TYPE_CHECKING:
    from recognition.faces import Recognizer
    from recognition.liveness import Challenge
    from recognition.matching import Template
    from recognition.settings import RecognitionSettings

_MARK = (0xF4, 0xCE)
_HEADER_ROWS = 5
_MARGIN = 10


@dataclass(frozen=True)
class FakeFace:
    """One face in a fake photo: who it is and how it looks.

    ``offset`` moves the encoding away from the identity's own point by exactly that distance,
    to test thresholds; ``yaw`` and ``roll`` (degrees) become the landmark geometry, with the
    eyes' width asymmetry following the yaw as on a real head (``flat``: it stays level, as on a
    photo warped to imitate the turn). ``shift`` moves the face right by that many pixels.
    """

    identity: str
    yaw: float = 0.0
    roll: float = 0.0
    flat: bool = False
    offset: float = 0.0
    size: int = 160
    shift: int = 0


def fake_photo(*faces: FakeFace, brightness: int = 128, sharp: bool = True, seed: int = 0,
               fmt: str = "PNG") -> bytes:
    """PNG bytes the ``FakeRecognizer`` reads back as ``faces``.

    The face areas are random texture around ``brightness`` (``sharp=False``: flat, so the real
    blur measure fails); ``seed`` changes the texture so successive burst frames differ.
    """
    size = max([f.size for f in faces] or [100])
    width = max(_MARGIN + len(faces) * (size + _MARGIN) + max(f.shift for f in faces) if faces else 0, 200)
    height = _HEADER_ROWS + 2 * _MARGIN + size
    rng = np.random.default_rng(seed)
    if sharp:
        pixels = rng.integers(max(0, brightness - 40), min(255, brightness + 40) + 1,
                              size=(height, width, 3), dtype=np.int64)
    else:
        pixels = np.full((height, width, 3), brightness, dtype=np.int64)
    pixels = pixels.astype(np.uint8)
    payload = json.dumps([asdict(f) for f in faces], separators=(",", ":")).encode()
    header = bytes([*_MARK, len(payload) >> 8, len(payload) & 0xFF]) + payload
    if len(header) > _HEADER_ROWS * width:
        raise ValueError("too many faces for one fake photo")
    flat = np.zeros(_HEADER_ROWS * width, dtype=np.uint8)
    flat[:len(header)] = np.frombuffer(header, dtype=np.uint8)
    pixels[:_HEADER_ROWS, :, 0] = flat.reshape(_HEADER_ROWS, width)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format=fmt)
    return out.getvalue()


def _read_faces(rgb: np.ndarray) -> list[FakeFace]:
    if rgb.ndim != 3 or rgb.shape[0] < _HEADER_ROWS or rgb.shape[1] < 4:
        return []
    flat = np.ascontiguousarray(rgb[:_HEADER_ROWS, :, 0]).reshape(-1)
    if tuple(int(x) for x in flat[:2]) != _MARK:
        return []
    length = (int(flat[2]) << 8) | int(flat[3])
    try:
        return [FakeFace(**d) for d in json.loads(bytes(flat[4:4 + length]))]
    except (ValueError, TypeError):
        return []


def _box(index: int, face: FakeFace, size: int) -> Box:
    left = _MARGIN + index * (size + _MARGIN) + face.shift
    top = _HEADER_ROWS + _MARGIN
    return Box(left, top, left + face.size, top + face.size)


def _unit(seed: str, dims: int) -> np.ndarray:
    digest = hashlib.sha256(seed.encode()).digest()
    vec = np.random.default_rng(int.from_bytes(digest[:8], "big")).standard_normal(dims)
    return vec / np.linalg.norm(vec)


class FakeRecognizer:
    """Deterministic ``Recognizer``: faces come from ``fake_photo``'s description.

    Encodings: each identity is a fixed point at radius 0.7 (two identities end up about 1.0
    apart, far over any threshold); ``offset`` adds exactly that distance along a fixed direction.
    Photos that are not fake photos (real ones included) have no face.
    """

    model_name = "fake"
    model_version = "1"
    dims = 128

    def _faces(self, rgb: np.ndarray) -> list[tuple[Box, FakeFace]]:
        faces = _read_faces(rgb)
        size = max([f.size for f in faces] or [100])
        return [(_box(i, f, size), f) for i, f in enumerate(faces)]

    def detect(self, rgb: np.ndarray, upsample: int) -> list[Box]:
        return [box for box, _ in self._faces(rgb)]

    def _face_at(self, rgb: np.ndarray, box: Box) -> FakeFace:
        for found, face in self._faces(rgb):
            if found == box:
                return face
        raise ValueError("no fake face at this box")

    def landmarks(self, rgb: np.ndarray, box: Box) -> np.ndarray:
        """5 points (dlib's layout: one eye's corners, the other's, the nose base) whose
        ``faces.pose`` is the face's ``yaw``, ``roll`` and (unless ``flat``) an eye-width
        asymmetry of 0.9 x yaw, the slope a real head shows."""
        face = self._face_at(rgb, box)
        cx, cy = (box.left + box.right) / 2, (box.top + box.bottom) / 2
        span = box.width * 0.4  # distance between the eye centres
        asym = 0.0 if face.flat else 0.9 * face.yaw
        width_a = box.width * 0.16 * float(np.exp(asym / 2))
        width_b = box.width * 0.16 * float(np.exp(-asym / 2))
        level = np.array([
            (-span / 2 - width_a / 2, 0.0), (-span / 2 + width_a / 2, 0.0),  # image-left eye
            (span / 2 + width_b / 2, 0.0), (span / 2 - width_b / 2, 0.0),  # image-right eye
            (face.yaw * span, box.height * 0.25),  # nose base
        ])
        angle = np.radians(face.roll)
        turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        points: np.ndarray = level @ turn.T + np.array([cx, cy - box.height * 0.1])
        return points

    def encode(self, rgb: np.ndarray, box: Box) -> np.ndarray:
        face = self._face_at(rgb, box)
        return 0.7 * _unit("id:" + face.identity, self.dims) + face.offset * _unit("offset", self.dims)


#: the shared clip's frame rate, and the gap between every 5th frame (what tests and benchmarks send)
CLIP_FPS = 29.97
CLIP_EVERY_MS = 5 * 1000 / CLIP_FPS


def clip_times(count: int, every: float = CLIP_EVERY_MS) -> list[float]:
    """When a phone took ``count`` frames ``every`` ms apart, in ms from the first: with a
    browser timer's few milliseconds of jitter (times with none at all are an injection signal)."""
    return [round(i * every + (i * 7) % 5, 1) for i in range(count)]


def prompted_challenge(frames: Sequence[Any], times: Sequence[float], steps: Sequence[str], template: Template,
                       recognizer: Recognizer, settings: RecognitionSettings, issued_at: datetime,
                       lead_ms: int = 150) -> Challenge:
    """The challenge a person following the prompts would have met, for a real recording: each
    step prompted ``lead_ms`` before the recording shows it. A real clip turns when it turns; the
    prompts are fitted to it (tests and the benchmark use this for the honest control)."""
    from recognition.liveness import check_liveness

    probe_settings = replace(settings, prompt_reaction_ms=600_000, burst_tail_max_ms=600_000, burst_tail_min_ms=0)
    expires = issued_at + timedelta(seconds=settings.challenge_ttl_seconds)
    from recognition.liveness import Challenge

    bare = Challenge("fit", tuple(steps), issued_at, expires, tuple(0 for _ in steps))
    probe = check_liveness(frames, bare, template, recognizer, probe_settings,
                           issued_at + timedelta(seconds=30), frame_times=times)
    starts = [t["start_ms"] for t in probe.measures.get("prompt_timing", [])]
    if len(starts) != len(steps) or None in starts:
        raise ValueError(f"the recording does not show {steps}: {probe.reasons}")
    return Challenge("fit", tuple(steps), issued_at, expires, tuple(max(0, round(t) - lead_ms) for t in starts))
