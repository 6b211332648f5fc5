"""The quality gate: is this photo good enough to compare a face on, and if not, what should the
trainee do about it? Each failure is a Reason with a stable code and a Chinese instruction.

The gate runs detection once and keeps the face it found (box, landmarks, yaw), so enrollment and
verification encode that face without detecting again.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from recognition.faces import Box, Recognizer, detect_faces, yaw_ratio
from recognition.images import ImageError, LoadedImage, as_loaded, to_gray
from recognition.reasons import Reason, reason
from recognition.settings import RecognitionSettings


@dataclass(frozen=True, eq=False)
class Face:
    """The one face the gate accepted or judged: where it is and what it looks like."""

    box: Box
    landmarks: np.ndarray  # (5, 2): dlib's 5-point layout
    yaw: float
    sharpness: float
    brightness: float


@dataclass(frozen=True, eq=False)
class QualityReport:
    """The gate's decision. ``ok`` is True only if ``reasons`` is empty."""

    ok: bool
    reasons: tuple[Reason, ...]
    faces_found: int
    face: Face | None
    image: LoadedImage | None


def face_crop_stats(rgb: np.ndarray, box: Box, crop_px: int) -> tuple[float, float]:
    """(sharpness, brightness) of the face crop: variance of the Laplacian on the crop resized
    to ``crop_px`` square (so the score does not depend on the photo's resolution), and the mean
    grey level."""
    b = box.clipped(rgb.shape[1], rgb.shape[0])
    crop = rgb[b.top:b.bottom, b.left:b.right]
    if crop.size == 0:
        return 0.0, 0.0
    grey = to_gray(np.ascontiguousarray(crop))
    brightness = float(grey.mean())
    grey = cv2.resize(grey, (crop_px, crop_px), interpolation=cv2.INTER_AREA)
    sharpness = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    return sharpness, brightness


def significant_faces(boxes: list[Box], settings: RecognitionSettings) -> list[Box]:
    """Faces at least ``secondary_face_ratio`` as wide as the largest (boxes are largest first)."""
    if not boxes:
        return []
    widest = max(b.width for b in boxes)
    return [b for b in boxes if b.width >= settings.secondary_face_ratio * widest]


def judge_face(image: LoadedImage, box: Box, recognizer: Recognizer,
               settings: RecognitionSettings) -> tuple[Face, tuple[Reason, ...]]:
    """Landmarks and quality measures of one face, with the reasons it fails (if any)."""
    landmarks = recognizer.landmarks(image.rgb, box)
    yaw = yaw_ratio(landmarks)
    sharpness, brightness = face_crop_stats(image.rgb, box, settings.sharpness_crop_px)
    face = Face(box=box, landmarks=landmarks, yaw=yaw, sharpness=sharpness, brightness=brightness)
    reasons: list[Reason] = []
    if box.width < settings.min_face_px:
        reasons.append(reason("face_too_small", f"face width {box.width} px < {settings.min_face_px} px"))
    if brightness < settings.min_brightness:
        reasons.append(reason("too_dark", f"face brightness {brightness:.0f} < {settings.min_brightness:.0f}"))
    elif brightness > settings.max_brightness:
        reasons.append(reason("too_bright", f"face brightness {brightness:.0f} > {settings.max_brightness:.0f}"))
    if sharpness < settings.min_sharpness:
        reasons.append(reason("too_blurry", f"sharpness {sharpness:.1f} < {settings.min_sharpness:.1f}"))
    if abs(yaw) > settings.max_yaw:
        reasons.append(reason("face_turned", f"|yaw| {abs(yaw):.2f} > {settings.max_yaw:.2f}"))
    return face, tuple(reasons)


def assess_quality(image: bytes | LoadedImage | np.ndarray, recognizer: Recognizer,
                   settings: RecognitionSettings | None = None) -> QualityReport:
    """Run the quality gate on one photo: exactly one face, big, sharp, well lit, frontal.

    Bytes are decoded first; an undecodable upload fails the gate with the image error's code
    (fail closed, no exception).
    """
    settings = settings or RecognitionSettings()
    try:
        loaded = as_loaded(image, settings)
    except ImageError as exc:
        return QualityReport(ok=False, reasons=(exc.reason,), faces_found=0, face=None, image=None)
    boxes = detect_faces(loaded, recognizer, settings.detect_max_side, settings.detect_upsample)
    if not boxes:
        return QualityReport(ok=False, reasons=(reason("no_face", "no face detected"),),
                             faces_found=0, face=None, image=loaded)
    main = significant_faces(boxes, settings)
    if len(main) > 1:
        return QualityReport(ok=False, reasons=(reason("multiple_faces", f"{len(main)} faces"),),
                             faces_found=len(boxes), face=None, image=loaded)
    face, reasons = judge_face(loaded, main[0], recognizer, settings)
    return QualityReport(ok=not reasons, reasons=reasons, faces_found=len(boxes), face=face, image=loaded)
