"""Settings for the face pipeline: every threshold the decisions use lives here.

Decision code never holds a numeric literal for a threshold; it reads ``RecognitionSettings``, and
the threshold actually used is stored with every decision so an auditor can see it later.
Defaults were chosen on the shared real images (../shared/faces); see comments per field.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecognitionSettings:
    """Frozen settings for images, the quality gate, matching, liveness and group photos."""

    # --- images -----------------------------------------------------------------------------
    #: refuse uploads bigger than this many bytes (before decoding anything).
    max_image_bytes: int = 15 * 1024 * 1024
    #: refuse images whose header claims more pixels (decompression bombs); checked before decoding.
    max_image_pixels: int = 40_000_000
    #: decoded images are reduced to this longer side for landmarks/encoding (the encoder only
    #: sees a 150 px chip, so more pixels cost memory and time for nothing).
    work_max_side: int = 1600
    #: face detection runs on a copy with this longer side: full-size HOG detection measured up
    #: to 6 s, 640 px ~95 ms.
    detect_max_side: int = 640
    #: HOG upsampling on the detection copy (1 finds faces down to ~40 px in the copy).
    detect_upsample: int = 1

    # --- quality gate -------------------------------------------------------------------------
    #: minimum face box width in working-image pixels (shared images: smallest real face 63 px).
    min_face_px: int = 60
    #: other faces at least this fraction of the main face's width count as "more than one face";
    #: smaller ones are people far behind the trainee.
    secondary_face_ratio: float = 0.5
    #: variance of the Laplacian on the face crop resized to ``sharpness_crop_px`` (so it does not
    #: depend on resolution); the blurriest genuine image in the shared set scores 13, ex_obama.jpg
    #: (face 275 px, sharpness 679) blurred with sigma 6 scores 7.5, with sigma 10 3.5.
    min_sharpness: float = 8.0
    sharpness_crop_px: int = 128
    #: mean grey level of the face crop (0-255); shared images range 58-171.
    min_brightness: float = 40.0
    max_brightness: float = 215.0
    #: |yaw| above this is "face turned" for enrollment/verification (shared images: max 0.25).
    max_yaw: float = 0.35

    # --- matching -----------------------------------------------------------------------------
    #: The deployed rule is three-way (recognition/identity.py): a (fused) distance under
    #: ``match_threshold`` is accepted, one at or over ``review_threshold`` is refused, and the
    #: band between goes to a person. Both move per template by a bounded shift (see the cohort
    #: settings below). Calibrated on East Asian faces (../shared/faces_ea, the population we
    #: serve; `hourproof faces calibrate --protocol gallery --pairs ../shared/faces_ea/pairs.csv`
    #: printed these: 0.413 accepts 0.098% of impostor probes against 3-photo templates and 85.9%
    #: of genuine ones (95.5% of those the quality gate lets through); from 0.484 every usable
    #: genuine probe is below it. The old single 0.55 (tuned on Western faces) accepted 15% of East
    #: Asian impostor pairs. Stored with every decision.
    match_threshold: float = 0.413
    review_threshold: float = 0.484
    #: Per-template thresholds: the mean distance from a template to its ``cohort_k`` nearest
    #: other templates in the deployment, minus ``cohort_reference`` (its median on faces_ea),
    #: times ``cohort_weight``, clamped to +-``cohort_weight * cohort_clamp``, is added to both
    #: thresholds. Fewer than ``cohort_k`` others: the strictest shift.
    cohort_k: int = 10
    cohort_weight: float = 0.5
    cohort_clamp: float = 0.1
    cohort_reference: float = 0.476
    #: At enrolment, a template this close to another identity's (anywhere in the deployment) is
    #: held for a supervisor. Strict on purpose: a 1:N search multiplies the pair FAR by N; on
    #: faces_ea no impostor pair of 80,216 is under 0.32, while the same photo reused, or photos
    #: taken in one sitting, sit far below it (different news photos of one person: 16% are).
    dedup_threshold: float = 0.32
    enroll_min_photos: int = 1
    enroll_max_photos: int = 5

    # --- liveness -----------------------------------------------------------------------------
    #: number of steps in a challenge, and which actions may be asked.
    challenge_steps: int = 2
    challenge_actions: tuple[str, ...] = ("turn_left", "turn_right", "blink")
    #: a challenge's nonce expires this long after it is issued (the issue: ~90 s; the phone asks
    #: for it right before opening the camera, and a burst takes a few seconds)
    challenge_ttl_seconds: int = 90
    liveness_min_frames: int = 5
    liveness_max_frames: int = 30
    #: when frame times are given, the burst may last at most this long.
    liveness_max_burst_seconds: float = 15.0
    #: liveness frames are detected with upsample 0 on a 480 px copy (~10 ms/frame): a selfie face
    #: is large (>= 110 px of a 640 px frame stays >= 80 px, the HOG minimum); the 1-upsample
    #: detector would cost ~95 ms on each of 10 frames. A frame where nothing is found there is
    #: searched again on a ``liveness_detect_retry_side`` copy, so a smaller face costs time, not
    #: a failure.
    liveness_detect_max_side: int = 480
    liveness_detect_retry_side: int = 640
    liveness_detect_upsample: int = 0
    #: between frames the face is searched only in a window this much larger than the previous
    #: face (per side, as a fraction of its size), reduced so the face is about this wide (the HOG
    #: detector needs ~80 px without upsampling).
    liveness_track_margin: float = 0.5
    #: second, wider window tried before falling back to the whole frame.
    liveness_track_retry_margin: float = 1.0
    liveness_track_face_px: int = 84
    #: at least this many frames must contain a face.
    liveness_min_face_frames: int = 4
    #: a yaw this far from the burst's baseline counts as a head turn (the shared clip swings
    #: from -0.43 to +0.18 around a baseline of about -0.08; frontal photos stay within +-0.1).
    turn_yaw: float = 0.15
    #: turns are measured from the burst's median yaw (camera off to one side), clamped to this.
    turn_baseline_max: float = 0.1
    #: a blink is a frame whose eye aspect ratio falls to this fraction of the burst's median,
    #: provided the median shows open eyes.
    blink_ratio: float = 0.65
    blink_min_open_ear: float = 0.2
    #: identity on the whole burst, not on a few frames: every frame that carries a motion is
    #: encoded, and enough others that no two encoded frames are more than
    #: ``liveness_encode_gap`` frames apart, at most ``liveness_max_encoded_frames`` (encoding,
    #: ~75 ms, is the expensive step). The decision uses their mean (fused probe).
    liveness_min_encoded_frames: int = 3
    liveness_max_encoded_frames: int = 10
    liveness_encode_gap: int = 2
    #: every encoded frame must lie within this of the burst's median encoding: the same person
    #: throughout (the shared stage clip: at most 0.37, turned frames included; another person's
    #: face is ~0.5-0.7 away).
    burst_frame_max_distance: float = 0.45
    #: consecutive frames whose mean absolute grey difference (on a 32x32 copy) is below this are
    #: copies of one still; more than ``liveness_max_still_fraction`` of such pairs fails.
    still_frame_max_diff: float = 1.5
    liveness_max_still_fraction: float = 0.5
    #: True: the burst must show exactly the asked turns (no extra turns), which makes replaying a
    #: random head-moving video much less likely to pass.
    liveness_strict_turns: bool = True
    #: set True if the client sends mirrored (selfie-preview) frames; flips left/right.
    frames_mirrored: bool = False

    # --- group photos -------------------------------------------------------------------------
    #: faces in a class photo are small, so detection runs on a larger copy (~0.3-0.9 s).
    group_detect_max_side: int = 1600
    group_detect_upsample: int = 1
    #: faces narrower than this (working-image px) are ignored: too small to encode reliably,
    #: so they are neither matched nor reported as unknown.
    group_min_face_px: int = 40
