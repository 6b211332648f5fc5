"""Enrollment (1-5 photos -> ``Template``) and 1:1 verification against a template.

A template holds every enrolled encoding (float32) with the model name and version that made
them; verification compares against their mean (one point per person, so adding photos does not
add chances for an impostor to land near one of them) and reports the distance, the threshold
from settings, and the model, so the evidence can be re-judged later.
"""
from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recognition.faces import Recognizer
from recognition.identity import IdentityDecision, decide
from recognition.images import LoadedImage
from recognition.quality import QualityReport, assess_quality
from recognition.reasons import Reason, reason, reasons_evidence
from recognition.settings import RecognitionSettings

_MAGIC = b"HPFT"  # hourproof face template
_FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class Template:
    """Enrolled face encodings of one person, with the model that produced them.

    ``encodings`` is a read-only float32 array of shape (n, d). Stored as bytes with
    ``to_bytes()``; the bytes are biometric data: keep them encrypted at rest and never log them.
    """

    model_name: str
    model_version: str
    encodings: np.ndarray

    def __post_init__(self) -> None:
        arr = np.array(self.encodings, dtype=np.float32, copy=True)
        if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
            raise ValueError(f"template encodings must be (n, d), got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError("template encodings must be finite")
        arr.setflags(write=False)
        object.__setattr__(self, "encodings", arr)

    @property
    def centroid(self) -> NDArray[np.float64]:
        """The mean encoding, which verification compares against."""
        mean: NDArray[np.float64] = self.encodings.astype(np.float64).mean(axis=0)
        return mean

    def distance(self, encoding: np.ndarray) -> float:
        """Euclidean distance from ``encoding`` to the template's mean encoding."""
        return float(np.linalg.norm(np.asarray(encoding, dtype=np.float64) - self.centroid))

    def to_bytes(self) -> bytes:
        """Serialise: magic, format version, JSON header length, JSON header, float32 LE array."""
        header = json.dumps({
            "model_name": self.model_name,
            "model_version": self.model_version,
            "count": int(self.encodings.shape[0]),
            "dims": int(self.encodings.shape[1]),
            "dtype": "<f4",
        }, sort_keys=True).encode()
        body = self.encodings.astype("<f4").tobytes()
        return _MAGIC + struct.pack("<HI", _FORMAT_VERSION, len(header)) + header + body

    @classmethod
    def from_bytes(cls, data: bytes) -> Template:
        """Parse ``to_bytes()`` output; raises ValueError on anything malformed."""
        if len(data) < 10 or data[:4] != _MAGIC:
            raise ValueError("not a face template")
        version, header_len = struct.unpack("<HI", data[4:10])
        if version != _FORMAT_VERSION:
            raise ValueError(f"unknown template format version {version}")
        header = json.loads(data[10:10 + header_len])
        body = data[10 + header_len:]
        count, dims = int(header["count"]), int(header["dims"])
        if header.get("dtype") != "<f4" or len(body) != count * dims * 4:
            raise ValueError("template body does not match its header")
        arr = np.frombuffer(body, dtype="<f4").reshape(count, dims)
        return cls(model_name=header["model_name"], model_version=header["model_version"], encodings=arr)


@dataclass(frozen=True, eq=False)
class Enrollment:
    """Result of enrolling: a template if ``ok``, otherwise reasons (per photo, numbered)."""

    ok: bool
    template: Template | None
    reasons: tuple[Reason, ...]
    photos: tuple[QualityReport, ...]
    #: largest distance between two of the photos (None with one photo or a failed gate).
    max_pairwise_distance: float | None
    threshold: float


@dataclass(frozen=True, eq=False)
class Verification:
    """1:1 decision: is the face in the photo the enrolled person?"""

    matched: bool
    distance: float | None
    threshold: float
    model_name: str
    model_version: str
    reasons: tuple[Reason, ...]
    quality: QualityReport | None
    #: the three-way decision (None when no distance could be measured); ``matched`` is its ACCEPT
    identity: IdentityDecision | None = None

    def evidence(self) -> dict[str, Any]:
        """JSON-ready evidence for the check-in record: the decision, distance, threshold,
        model and reasons, plus the face's quality measures. No image, no encoding."""
        face = self.quality.face if self.quality is not None else None
        return {
            "matched": self.matched,
            "distance": None if self.distance is None else round(self.distance, 4),
            "threshold": self.threshold,
            "identity": None if self.identity is None else self.identity.evidence(),
            "model_name": self.model_name,
            "model_version": self.model_version,
            "reasons": reasons_evidence(self.reasons),
            "face": None if face is None else {
                "width_px": face.box.width, "yaw": round(face.yaw, 3),
                "sharpness": round(face.sharpness, 1), "brightness": round(face.brightness, 1),
            },
        }


def _numbered(index: int, r: Reason) -> Reason:
    return Reason(code=r.code, message=f"第{index + 1}张照片：{r.message}",
                  detail=f"photo {index + 1}: {r.detail}")


def enroll(photos: Sequence[bytes | LoadedImage | np.ndarray], recognizer: Recognizer,
           settings: RecognitionSettings | None = None) -> Enrollment:
    """Build a template from 1-5 photos of one person.

    Every photo must pass the quality gate, and every two photos must agree (distance under
    ``review_threshold``, the loose one: photos taken in one sitting agree well under it, and
    two people rarely do): a template mixing two people would let both of them check in.
    """
    settings = settings or RecognitionSettings()
    thr = settings.review_threshold
    if not settings.enroll_min_photos <= len(photos) <= settings.enroll_max_photos:
        return Enrollment(False, None, (reason("wrong_photo_count", f"{len(photos)} photos"),), (), None, thr)
    reports = tuple(assess_quality(p, recognizer, settings) for p in photos)
    failures = tuple(_numbered(i, r) for i, rep in enumerate(reports) for r in rep.reasons)
    if failures:
        return Enrollment(False, None, failures, reports, None, thr)
    encodings = [recognizer.encode(rep.image.rgb, rep.face.box) for rep in reports]  # type: ignore[union-attr]
    worst = None
    disagree: list[Reason] = []
    for (i, a), (j, b) in combinations(enumerate(encodings), 2):
        d = float(np.linalg.norm(a - b))
        worst = d if worst is None else max(worst, d)
        if d >= thr:
            disagree.append(reason("photos_disagree", f"photos {i + 1} and {j + 1}: distance {d:.3f} >= {thr:.3f}"))
    if disagree:
        return Enrollment(False, None, tuple(disagree), reports, worst, thr)
    template = Template(recognizer.model_name, recognizer.model_version, np.stack(encodings))
    return Enrollment(True, template, (), reports, worst, thr)


def verify(photo: bytes | LoadedImage | np.ndarray, template: Template, recognizer: Recognizer,
           settings: RecognitionSettings | None = None, cohort: Sequence[float] | None = None) -> Verification:
    """Compare the one face in ``photo`` with ``template``: matched if the photo passes the
    quality gate and the distance is under ``settings.match_threshold``; ``identity`` tells a
    refusal from the review band. Never raises for a bad photo: it fails closed with the reason."""
    settings = settings or RecognitionSettings()
    thr = settings.match_threshold

    def result(matched: bool, distance: float | None, reasons: tuple[Reason, ...],
               quality: QualityReport | None, identity: IdentityDecision | None = None) -> Verification:
        used = identity.accept_below if identity is not None else thr
        return Verification(matched, distance, used, recognizer.model_name, recognizer.model_version,
                            reasons, quality, identity)

    if (template.model_name, template.model_version) != (recognizer.model_name, recognizer.model_version):
        return result(False, None, (reason(
            "model_mismatch",
            f"template {template.model_name} {template.model_version}, "
            f"recognizer {recognizer.model_name} {recognizer.model_version}"),), None)
    quality = assess_quality(photo, recognizer, settings)
    if not quality.ok:
        return result(False, None, quality.reasons, quality)
    encoding = recognizer.encode(quality.image.rgb, quality.face.box)  # type: ignore[union-attr]
    decision = decide(template.distance(encoding), settings, cohort)
    return result(decision.accepted, decision.distance, decision.reasons, quality, decision)
