"""Session fixtures for the real-backend face tests: one DlibRecognizer, the labelled images
encoded once each, and the Hamilton clip's frames decoded once."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from recognition import DlibRecognizer, RecognitionSettings, Template, assess_quality, enroll


@dataclass(frozen=True, eq=False)
class Encoded:
    """What the pipeline made of one labelled image."""

    path: str
    identity: str
    role: str
    codes: tuple[str, ...]  # quality gate reasons (empty: passed)
    encoding: np.ndarray | None


@pytest.fixture(scope="session")
def recognizer() -> DlibRecognizer:
    return DlibRecognizer()


@pytest.fixture(scope="session")
def settings() -> RecognitionSettings:
    return RecognitionSettings()


@pytest.fixture(scope="session")
def labels(faces_dir: Path) -> list[dict[str, str]]:
    with open(faces_dir / "labels.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def encoded(faces_dir: Path, labels, recognizer, settings) -> dict[str, Encoded]:
    """Every image with role pair or near_duplicate through the quality gate and, if it passes,
    encoded: once per session (about 80 images, ~15 s)."""
    out: dict[str, Encoded] = {}
    for row in labels:
        if row["role"] not in ("pair", "near_duplicate"):
            continue
        report = assess_quality((faces_dir / row["path"]).read_bytes(), recognizer, settings)
        encoding = recognizer.encode(report.image.rgb, report.face.box) if report.ok else None
        out[row["path"]] = Encoded(row["path"], row["identity"], row["role"],
                                   tuple(r.code for r in report.reasons), encoding)
    return out


@pytest.fixture(scope="session")
def fr_images(faces_dir: Path) -> Path:
    return faces_dir / "images" / "face_recognition"


@pytest.fixture(scope="session")
def template_of(fr_images: Path, recognizer, settings):
    """Enrol one photo from images/face_recognition and return its template (cached)."""
    cache: dict[str, Template] = {}

    def make(name: str) -> Template:
        if name not in cache:
            result = enroll([(fr_images / name).read_bytes()], recognizer, settings)
            assert result.ok, result.reasons
            cache[name] = result.template
        return cache[name]

    return make


@pytest.fixture(scope="session")
def clip_frames(faces_dir: Path) -> dict[int, np.ndarray]:
    """Frames 80-215 of the Hamilton clip as RGB arrays, keyed by frame number."""
    cap = cv2.VideoCapture(str(faces_dir / "video" / "short_hamilton_clip.mp4"))
    frames: dict[int, np.ndarray] = {}
    index = 0
    try:
        while index <= 215:
            ok, bgr = cap.read()
            if not ok:
                break
            if index >= 80:
                frames[index] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            index += 1
    finally:
        cap.release()
    assert len(frames) == 136, f"clip gave {len(frames)} frames in 80-215"
    return frames
