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
    #: |yaw| (5-point ratio) above this is "face turned" for enrollment/verification (it is ~0.7
    #: of the 68-point ratio; shared images: max ~0.18).
    max_yaw: float = 0.25

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
    #: number of steps in a challenge, and which motions may be asked. Tilts (歪头) are in-plane
    #: rotations, measured exactly by the eye line's angle; turns carry the depth test, so every
    #: challenge holds at least ``challenge_min_turns`` of them. 3 steps of these 4 kinds with
    #: random prompt times: 26 step sequences (6 before), each at one of thousands of timings.
    challenge_steps: int = 3
    challenge_actions: tuple[str, ...] = ("turn_left", "turn_right", "tilt_left", "tilt_right")
    challenge_min_turns: int = 1
    #: when each step is prompted, in ms from the start of the burst: the first between these,
    #: each next one a random gap later. Random so that a recording cannot know when to turn.
    prompt_first_ms: tuple[int, int] = (500, 1000)
    prompt_gap_ms: tuple[int, int] = (1000, 1800)
    #: a motion counts for its step only if it starts no earlier than its prompt minus this
    #: (a frame interval: the frame after the prompt may be the first to show it) ...
    prompt_early_ms: int = 300
    #: ... and no later than this after its prompt.
    prompt_reaction_ms: int = 2500
    #: the burst must go on at least this long after the last prompt (the motion takes time),
    #: and may end at most ``prompt_reaction_ms`` + this after it.
    burst_tail_min_ms: int = 300
    burst_tail_max_ms: int = 1500
    #: a challenge's nonce expires this long after it is issued (the issue: ~90 s; the phone asks
    #: for it when the trainee taps 开始, and a burst takes a few seconds)
    challenge_ttl_seconds: int = 90
    liveness_min_frames: int = 5
    liveness_max_frames: int = 30
    #: the burst may last at most this long (capture times, first to last frame).
    liveness_max_burst_seconds: float = 15.0
    #: capture times (ms): consecutive frames at most this far apart (continuity is judged
    #: between frames, so they must be close), and the burst may end at most this much later
    #: than the server's clock says the challenge was issued (phone and server clocks are not
    #: compared: only the elapsed time is).
    capture_max_gap_ms: int = 700
    capture_clock_slack_ms: int = 2000
    #: continuity between consecutive frames with a face, per second of capture time: the eyes'
    #: midpoint may move this many eye spans, the eye span change by this factor (log), the yaw
    #: ratio and the roll (degrees) change this much. The shared clip (a performer moving on stage)
    #: sampled every 3rd to 12th frame peaks at 8.6 spans/s, 1.3 log/s, 1.5 yaw/s and 74 degrees/s;
    #: a cut jumps 30+ spans/s, and his left turn spliced before his right turn jumps 200 degrees/s
    #: of roll. Limits: about 1.5x the honest peaks.
    continuity_max_centre_speed: float = 13.0
    continuity_max_scale_speed: float = 2.0
    continuity_max_yaw_speed: float = 2.2
    continuity_max_roll_speed: float = 120.0
    #: the depth test: across the burst, the eyes' width asymmetry must follow the yaw (a real
    #: head: slope 0.77-1.15, correlation 0.79-0.93 on the shared clip's honest windows; a flat
    #: photo sheared to imitate the turns: slope 0.07-0.22). Judged when the yaw spans at least
    #: ``turn_yaw``.
    depth_min_slope: float = 0.4
    depth_min_correlation: float = 0.5
    #: face fingerprints (``liveness.face_fingerprint``, 63 bits) within this many bits are the
    #: same frame: a replay re-encoded, cropped by 3-6 %, turned 3-5 degrees or relit differs by
    #: a median of 4 bits; frames of the shared clip a second or more apart differ by at least
    #: 10 (median 28), and a frame's mirror image matches its mirror fingerprint within 8.
    fingerprint_match_bits: int = 8
    #: a frame is the mirror image of another frame of the burst when it matches the other's
    #: mirror fingerprint (within ``fingerprint_match_bits``) and is at least this many bits
    #: further from it as it is (a near-symmetric frontal face looks like its own mirror).
    mirror_min_gap_bits: int = 12
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
    #: a yaw (5-point ratio) this far from the burst's baseline counts as a head turn (the shared
    #: clip swings from -0.33 to +0.10 around a baseline near -0.03; frontal frames stay within
    #: about +-0.06 of it).
    turn_yaw: float = 0.1
    #: turns are measured from the burst's median yaw (camera off to one side), clamped to this
    #: (below ``turn_yaw``, so that a burst spent mostly turned never makes frontal frames a turn).
    turn_baseline_max: float = 0.06
    #: a roll this many degrees from the burst's median roll (clamped to ``tilt_baseline_max``)
    #: counts as a tilt. The shared clip's performer tilts up to 16 degrees unasked: tilts that
    #: were not asked are allowed, asked ones must come when prompted.
    tilt_degrees: float = 15.0
    tilt_baseline_max: float = 10.0
    #: identity on the whole burst, not on a few frames: the peak frame of every motion first,
    #: then other motion frames and frames spread between them, at most
    #: ``liveness_max_encoded_frames`` (encoding, ~75 ms, is the expensive step; a change of
    #: person between encoded frames is a jump the continuity test refuses). The decision uses
    #: their mean (fused probe).
    liveness_min_encoded_frames: int = 3
    liveness_max_encoded_frames: int = 6
    liveness_encode_gap: int = 3
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
    #: injection signal: capture-time gaps whose spread is under this (ms) look generated.
    #: Flagged for a person, never decided. The phone page times frames with setTimeout and
    #: performance.now() (0.1 ms steps): 15 bursts of real Chromium timers spread 0.49-3.2 ms
    #: (2026-12-07), so the first threshold, 0.5 ms, flagged honest check-ins now and then. A
    #: program writing times spreads 0; 0.05 ms keeps a tenfold margin below what timers do.
    capture_min_jitter_ms: float = 0.05

    # --- group photos -------------------------------------------------------------------------
    #: faces in a class photo are small, so detection runs on a larger copy (~0.3-0.9 s).
    group_detect_max_side: int = 1600
    group_detect_upsample: int = 1
    #: faces narrower than this (working-image px) are ignored: too small to encode reliably,
    #: so they are neither matched nor reported as unknown.
    group_min_face_px: int = 40
