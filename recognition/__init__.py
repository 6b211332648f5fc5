"""recognition: the pure face pipeline of hourproof. Bytes in, decisions out.

No Flask, no database, no logging of image bytes or encodings. The check-in service calls:

- ``load_image(data, settings) -> LoadedImage`` (raises ``ImageError`` with a code)
- ``assess_quality(photo, recognizer, settings) -> QualityReport``
- ``enroll(photos, recognizer, settings) -> Enrollment`` (``.template: Template``)
- ``verify(photo, template, recognizer, settings) -> Verification``
- ``new_challenge(rng, now, settings) -> Challenge``
- ``check_liveness(frames, challenge, template, recognizer, settings, now) -> LivenessResult``
- ``match_group_photo(photo, roster, recognizer, settings) -> GroupMatch``
- ``decide(distance, settings) -> IdentityDecision`` (accept / review / refuse) and
  ``check_roster(probe, claimed, others, settings) -> RosterCheck`` (1:N against a class)

with ``recognizer`` a ``Recognizer`` (``DlibRecognizer()`` in production, a fake in unit tests) and
``settings`` a ``RecognitionSettings``. Every decision has ``reasons: tuple[Reason, ...]``.
"""
from recognition.faces import Box, DlibRecognizer, Pose, Recognizer, pose, yaw_ratio
from recognition.group import GroupFace, GroupMatch, match_group_photo
from recognition.identity import (
    ACCEPT,
    REFUSE,
    REVIEW,
    IdentityDecision,
    Neighbour,
    RosterCheck,
    check_roster,
    decide,
    fuse,
)
from recognition.images import ImageError, LoadedImage, dhash, from_array, hamming, load_image
from recognition.liveness import (
    STEP_MESSAGES,
    TILT_LEFT,
    TILT_RIGHT,
    TURN_LEFT,
    TURN_RIGHT,
    Challenge,
    FrameObservation,
    LivenessResult,
    check_liveness,
    new_challenge,
)
from recognition.matching import Enrollment, Template, Verification, enroll, verify
from recognition.quality import Face, QualityReport, assess_quality
from recognition.reasons import MESSAGES, Reason
from recognition.settings import RecognitionSettings

__all__ = [
    "ACCEPT", "REFUSE", "REVIEW", "IdentityDecision", "Neighbour", "RosterCheck", "check_roster", "decide", "fuse",
    "STEP_MESSAGES", "TILT_LEFT", "TILT_RIGHT", "TURN_LEFT", "TURN_RIGHT", "Pose", "pose",
    "Box", "Challenge", "DlibRecognizer", "Enrollment", "Face",
    "FrameObservation", "GroupFace", "GroupMatch", "ImageError", "LivenessResult", "LoadedImage", "MESSAGES", "QualityReport",
    "Reason", "RecognitionSettings", "Recognizer", "Template", "Verification", "assess_quality",
    "check_liveness", "dhash", "enroll", "from_array", "hamming", "load_image",
    "match_group_photo", "new_challenge", "verify", "yaw_ratio",
]
