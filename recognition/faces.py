"""The ``Recognizer`` protocol the pipeline (and the check-in service) depends on, its dlib
backend, and the landmark geometry (yaw, eye aspect ratio) the decisions use.

The protocol is small on purpose: detect boxes, 5 landmarks for a box, a 128-d encoding for a box.

Landmarks come from dlib's 5-point model (CC0): the two corners of each eye and the base of the
nose. The 68-point model that face_recognition_models also ships is trained on iBUG 300-W, whose
licence forbids commercial use, so nothing here loads it.
Everything else (quality, matching, liveness, group photos) is pure code on top of it, so a fake
(``recognition.testing.FakeRecognizer``) can stand in for the service's unit tests.
"""
from __future__ import annotations

import contextlib
import functools
import os
import queue
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from recognition.images import LoadedImage, downscale

MODEL_NAME = "dlib_face_recognition_resnet_model_v1"


@dataclass(frozen=True)
class Box:
    """A face box in pixel coordinates of the image it was found in (right/bottom exclusive)."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    def scaled(self, factor: float) -> Box:
        """The same box in an image ``factor`` times as large."""
        return Box(round(self.left * factor), round(self.top * factor),
                   round(self.right * factor), round(self.bottom * factor))

    def clipped(self, width: int, height: int) -> Box:
        """The box clipped to an image of the given size (may become empty)."""
        return Box(max(0, self.left), max(0, self.top), min(width, self.right), min(height, self.bottom))


@runtime_checkable
class Recognizer(Protocol):
    """A face backend: what the pipeline needs, nothing more.

    ``rgb`` arrays are uint8 HxWx3 in RGB order; ``detect`` also accepts an HxW grey array (the
    liveness tracker searches small grey windows) and may find nothing in one. Landmarks are dlib's
    5-point layout as a float array of shape (5, 2) with (x, y) in pixels: two corners of one eye,
    two corners of the other, the base of the nose; encodings are 1-d float arrays compared by
    Euclidean distance.
    """

    model_name: str
    model_version: str

    def detect(self, rgb: np.ndarray, upsample: int) -> list[Box]:
        """Face boxes found in ``rgb`` (coordinates of ``rgb``)."""
        ...

    def landmarks(self, rgb: np.ndarray, box: Box) -> np.ndarray:
        """5 (x, y) landmarks of the face in ``box``."""
        ...

    def encode(self, rgb: np.ndarray, box: Box) -> np.ndarray:
        """The face encoding of the face in ``box``."""
        ...


#: One model set: (the dlib module, HOG detector, 5-point shape predictor, ResNet encoder). dlib
#: has no type hints, so each is Any.
_Models = tuple[Any, Any, Any, Any]


def _load_dlib_models() -> _Models:
    """Load dlib's detector, shape predictors and ResNet encoder (~100 MB per set).

    Loaded directly from face_recognition_models rather than by importing face_recognition, which
    would also load the CNN detector we never use.
    """
    import dlib

    with warnings.catch_warnings():
        # face_recognition_models imports pkg_resources (deprecated); nothing we can change.
        warnings.simplefilter("ignore")
        import face_recognition_models as frm
    return (
        dlib,
        dlib.get_frontal_face_detector(),
        dlib.shape_predictor(frm.pose_predictor_five_point_model_location()),
        dlib.face_recognition_model_v1(frm.face_recognition_model_location()),
    )


class _ModelPool:
    """Model sets lent to one caller at a time.

    dlib's model objects are not safe to share between threads: the ResNet encoder keeps the
    buffers of its forward pass inside the network object, and two threads encoding at once
    corrupt the heap (seen as `free(): invalid size` and a SIGABRT of a threaded server worker).
    Each call borrows a whole set for its duration. Sets are loaded on demand, at most `size`
    of them (default: one per CPU core, since dlib runs each call on one core), so a threaded
    server still uses every core for face work."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._free: queue.LifoQueue[_Models] = queue.LifoQueue()
        self._made = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def borrow(self) -> Iterator[_Models]:
        try:
            models = self._free.get_nowait()
        except queue.Empty:
            with self._lock:
                make = self._made < self.size
                if make:
                    self._made += 1
            models = _load_dlib_models() if make else self._free.get()
        try:
            yield models
        finally:
            self._free.put(models)


@functools.lru_cache(maxsize=1)
def _pool() -> _ModelPool:
    size = int(os.environ.get("HOURPROOF_FACE_MODEL_SETS") or os.cpu_count() or 1)
    return _ModelPool(size)


@functools.lru_cache(maxsize=1)
def _models_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("face_recognition_models")
    except PackageNotFoundError:  # pragma: no cover - installed from source
        return "unknown"


class DlibRecognizer:
    """The dlib / face_recognition_models backend: HOG detector, the 5-point shape predictor
    (CC0), ResNet 128-d encoder. Encodings use the 5-point alignment, as face_recognition does by
    default (the distances in the settings were measured that way)."""

    model_name: str = MODEL_NAME

    def __init__(self, num_jitters: int = 1) -> None:
        self.num_jitters = num_jitters
        self.model_version = _models_version()

    def warm_up(self) -> None:
        """Load one model set now (~1 s) rather than during the first request."""
        with _pool().borrow():
            pass

    @staticmethod
    def _rect(dlib: Any, box: Box) -> Any:
        return dlib.rectangle(int(box.left), int(box.top), int(box.right), int(box.bottom))

    def detect(self, rgb: np.ndarray, upsample: int) -> list[Box]:
        with _pool().borrow() as (_, detector, *_rest):
            rects = detector(np.ascontiguousarray(rgb), upsample)
        return [Box(r.left(), r.top(), r.right(), r.bottom()) for r in rects]

    def landmarks(self, rgb: np.ndarray, box: Box) -> np.ndarray:
        with _pool().borrow() as (dlib, _, pose5, _):
            shape = pose5(np.ascontiguousarray(rgb), self._rect(dlib, box))
            return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)

    def encode(self, rgb: np.ndarray, box: Box) -> np.ndarray:
        img = np.ascontiguousarray(rgb)
        with _pool().borrow() as (dlib, _, pose5, encoder):
            shape = pose5(img, self._rect(dlib, box))
            return np.array(encoder.compute_face_descriptor(img, shape, self.num_jitters), dtype=np.float64)


def detect_faces(image: LoadedImage, recognizer: Recognizer, max_side: int, upsample: int) -> list[Box]:
    """Detect on a copy reduced to ``max_side`` and return boxes in ``image.rgb`` coordinates,
    largest first. Detection cost grows with pixels; landmarks and encoding do not, so only
    detection runs on the small copy."""
    small, factor = downscale(image.rgb, max_side)
    boxes = recognizer.detect(small, upsample)
    if factor != 1.0:
        boxes = [b.scaled(1.0 / factor) for b in boxes]
    boxes = [b.clipped(image.width, image.height) for b in boxes]
    boxes = [b for b in boxes if b.area > 0]
    return sorted(boxes, key=lambda b: b.area, reverse=True)


# --- landmark geometry ----------------------------------------------------------------------
# dlib's 5-point layout: 0-1 the corners of one eye, 2-3 the corners of the other, 4 the base of
# the nose. Which eye comes first is not relied on: the eye further left in the image is found
# by position.


@dataclass(frozen=True)
class Pose:
    """What 5 landmarks say about a face's pose in one image.

    ``yaw``: the nose base's offset from the midpoint of the eyes along the eye line, divided by
    the distance between the eye centres; positive when the nose points towards the image's
    right edge (in an unmirrored camera image: the person turning to their own LEFT). Measured
    along the eye line, so a tilt (roll) is not a turn. About 0.7 of the 68-point nose-tip ratio
    (the base of the nose stands out less than the tip).
    ``roll``: the eye line's angle in degrees, positive when the image-right eye is lower (y
    grows downwards): the person tilting towards their own LEFT shoulder, unmirrored.
    ``asymmetry``: log(width of the image-left eye / width of the image-right eye). A real head
    turning to its left shows the image-right eye (its own left) at a slant, so that eye gets
    narrower and the asymmetry follows the yaw (slope ~0.8-1.1 on the shared clip). A flat photo
    under any affine warp keeps it: the four eye corners lie on one line, and an affine map keeps
    ratios of lengths along a line. That is the depth test.
    ``centre`` (x, y) the eyes' midpoint and ``span`` the distance between the eye centres, in
    pixels: the continuity test measures movement between frames in spans.
    """

    yaw: float
    roll: float
    asymmetry: float
    centre: tuple[float, float]
    span: float


def pose(landmarks: np.ndarray) -> Pose:
    """The pose of a face from its 5 landmarks (see ``Pose``)."""
    eye_a, eye_b = landmarks[0:2], landmarks[2:4]
    if eye_a[:, 0].mean() > eye_b[:, 0].mean():
        eye_a, eye_b = eye_b, eye_a  # eye_a: the eye further left in the image
    centre_a, centre_b = eye_a.mean(axis=0), eye_b.mean(axis=0)
    axis = centre_b - centre_a
    span = float(np.linalg.norm(axis))
    mid = (centre_a + centre_b) / 2.0
    if span == 0.0:
        return Pose(0.0, 0.0, 0.0, (float(mid[0]), float(mid[1])), 0.0)
    yaw = float(np.dot(landmarks[4] - mid, axis) / (span * span))
    roll = float(np.degrees(np.arctan2(axis[1], axis[0])))
    width_a = float(np.linalg.norm(eye_a[0] - eye_a[1]))
    width_b = float(np.linalg.norm(eye_b[0] - eye_b[1]))
    asymmetry = float(np.log(width_a / width_b)) if width_a > 0 and width_b > 0 else 0.0
    return Pose(yaw, roll, asymmetry, (float(mid[0]), float(mid[1])), span)


def yaw_ratio(landmarks: np.ndarray) -> float:
    """Head yaw from 5 landmarks (``Pose.yaw``): positive towards the image's right edge."""
    return pose(landmarks).yaw
