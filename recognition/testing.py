"""A deterministic fake ``Recognizer`` for unit tests of code that uses the pipeline (the
check-in service), and a helper that makes the photos it understands.

The fake does not look at faces: ``fake_photo`` writes a small description of the faces (who,
yaw, eye openness) into the first pixel rows of a lossless PNG, and ``FakeRecognizer`` reads it
back. Everything else in the pipeline (decoding, quality measures on pixels, matching, motion
logic, assignment) runs for real. Keep fake photos at most 640 px wide so no detection copy is
downscaled (which would blur the description). Real faces are tested with ``DlibRecognizer`` on
the real images in ../shared/faces.
"""
from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

from recognition.faces import Box

_MARK = (0xF4, 0xCE)
_HEADER_ROWS = 5
_MARGIN = 10


@dataclass(frozen=True)
class FakeFace:
    """One face in a fake photo: who it is and how it looks.

    ``offset`` moves the encoding away from the identity's own point by exactly that distance,
    to test thresholds; ``yaw`` and ``ear`` become the landmark geometry.
    """

    identity: str
    yaw: float = 0.0
    ear: float = 0.3
    offset: float = 0.0
    size: int = 160


def fake_photo(*faces: FakeFace, brightness: int = 128, sharp: bool = True, seed: int = 0,
               fmt: str = "PNG") -> bytes:
    """PNG bytes the ``FakeRecognizer`` reads back as ``faces``.

    The face areas are random texture around ``brightness`` (``sharp=False``: flat, so the real
    blur measure fails); ``seed`` changes the texture so successive burst frames differ.
    """
    size = max([f.size for f in faces] or [100])
    width = max(_MARGIN + len(faces) * (size + _MARGIN), 200)
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
    left = _MARGIN + index * (size + _MARGIN)
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
        """68 points whose yaw ratio and eye aspect ratio are the face's ``yaw`` and ``ear``."""
        face = self._face_at(rgb, box)
        points = np.zeros((68, 2))
        cx, cy = (box.left + box.right) / 2, (box.top + box.bottom) / 2
        points[:] = (cx, cy + box.height * 0.3)  # jaw, brows, mouth: unused, parked on the chin
        span = box.width * 0.4  # distance between the eye centres
        eye_w = box.width * 0.16
        half_h = face.ear * eye_w / 2
        for start, ex in ((36, cx - span / 2), (42, cx + span / 2)):
            x0, x1 = ex - eye_w / 2, ex + eye_w / 2
            ey = cy - box.height * 0.1
            points[start:start + 6] = [
                (x0, ey), (ex - eye_w / 6, ey - half_h), (ex + eye_w / 6, ey - half_h),
                (x1, ey), (ex + eye_w / 6, ey + half_h), (ex - eye_w / 6, ey + half_h),
            ]
        points[30] = (cx + face.yaw * span, cy + box.height * 0.1)
        return points

    def encode(self, rgb: np.ndarray, box: Box) -> np.ndarray:
        face = self._face_at(rgb, box)
        return 0.7 * _unit("id:" + face.identity, self.dims) + face.offset * _unit("offset", self.dims)
