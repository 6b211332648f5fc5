"""The identity decision: three outcomes, not two, and the 1:N checks that sit beside it.

Why three: on East Asian faces (../shared/faces_ea) the dlib encoder cannot both refuse 999 of
1,000 impostors and accept 97 of 100 genuine check-ins with one threshold (see README "Face
identity"). So a distance under ``match_threshold`` (strict: measured FAR <= 0.1%) is accepted,
one at or above ``review_threshold`` (loose) is refused, and the band between is neither: the
event is kept and flagged for a person, who sees the evidence. The honest trainee in that band
loses nothing but time; the impostor is not accepted by the machine.

Why fused: a burst has many frames of one face; the mean of their encodings is much closer to the
enrolled centroid than a single frame is (the shared stage clip: frames 0.40-0.54, their mean
0.35), while an impostor's frames stay as far.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

from recognition.reasons import Reason, reason, reasons_evidence
from recognition.settings import RecognitionSettings

if TYPE_CHECKING:  # matching imports this module for verify()'s decision
    from recognition.matching import Template

ACCEPT = "accept"
REVIEW = "review"
REFUSE = "refuse"

K = TypeVar("K")


def fuse(encodings: Sequence[np.ndarray]) -> NDArray[np.float64]:
    """One probe from several encodings of one face: their mean (what the thresholds were
    calibrated with in ``python -m recognition.bench``'s fused_probe protocol)."""
    if not encodings:
        raise ValueError("nothing to fuse")
    fused: NDArray[np.float64] = np.mean(np.stack([np.asarray(e, dtype=np.float64) for e in encodings]), axis=0)
    return fused


@dataclass(frozen=True)
class IdentityDecision:
    """Accept, review or refuse a distance, with the two thresholds of this template that
    decided it (the deployment's thresholds moved by ``shift``, see ``template_shift``)."""

    outcome: str
    distance: float
    accept_below: float
    refuse_from: float
    reasons: tuple[Reason, ...]
    shift: float = 0.0
    #: mean distance from the template to its ``cohort_k`` nearest other templates (None: the
    #: deployment held too few, and the strictest shift applied)
    cohort_mean: float | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome == ACCEPT

    def evidence(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "distance": round(self.distance, 4),
                "accept_below": round(self.accept_below, 4), "refuse_from": round(self.refuse_from, 4),
                "shift": round(self.shift, 4),
                "cohort_mean": None if self.cohort_mean is None else round(self.cohort_mean, 4),
                "reasons": reasons_evidence(self.reasons)}


def template_shift(cohort: Sequence[float] | None, settings: RecognitionSettings) -> tuple[float, float | None]:
    """(shift, cohort mean): how far this template's thresholds move from the deployment's.

    Why: some faces sit in a crowded part of the encoder's space, where other people's faces land
    close; others are alone. The mean distance to the template's ``cohort_k`` nearest other
    templates in the deployment says which: a crowded template gets stricter thresholds, a lonely
    one looser, by ``cohort_weight`` times the difference from ``cohort_reference``, at most
    ``cohort_clamp`` either way (measured on faces_ea, identities split in two halves, tuned on
    one and tested on the other: TAR at FAR 0.1% 76% -> 90%). With fewer than ``cohort_k``
    other templates to compare with, the strictest shift applies: fail closed."""
    weight, clamp = settings.cohort_weight, settings.cohort_clamp
    if cohort is None or len(cohort) < settings.cohort_k:
        return -weight * clamp, None
    mean = float(np.mean(np.sort(np.asarray(cohort, dtype=np.float64))[:settings.cohort_k]))
    return weight * float(np.clip(mean - settings.cohort_reference, -clamp, clamp)), mean


def decide(distance: float, settings: RecognitionSettings, cohort: Sequence[float] | None = None) -> IdentityDecision:
    """The deployed rule on one (fused) distance to the claimed template. ``cohort``: distances
    from the template to other people's templates in the deployment (any number; the nearest
    ``cohort_k`` are used). Without it, the strictest thresholds apply."""
    shift, mean = template_shift(cohort, settings)
    lo, hi = settings.match_threshold + shift, settings.review_threshold + shift
    if distance < lo:
        outcome, why = ACCEPT, reason("matched", f"distance {distance:.3f} < {lo:.3f}")
    elif distance < hi:
        outcome, why = REVIEW, reason("face_uncertain", f"{lo:.3f} <= distance {distance:.3f} < {hi:.3f}")
    else:
        outcome, why = REFUSE, reason("face_mismatch", f"distance {distance:.3f} >= {hi:.3f}")
    return IdentityDecision(outcome, distance, lo, hi, (why,), shift, mean)


@dataclass(frozen=True)
class Neighbour(Generic[K]):
    """Another enrolled person near the probe: who (the caller's key) and how near."""

    key: K
    distance: float


@dataclass(frozen=True)
class RosterCheck(Generic[K]):
    """1:N of a probe against the other people it could be (a class's trainees).

    ``refuse`` when the probe is at least as close to another person as to the claimed one: the face
    is not proven to be the claimed person's, whatever its 1:1 distance says. ``review`` when another
    person is also within the strictest accept distance (the machine would accept the face as
    theirs too).
    Why not the loose threshold for "near another": on East Asian faces about 1 pair in 100 falls
    under it, so in a class of 40 a third of honest check-ins would be near somebody. The other
    person's key is for the reviewer; the trainee's message names nobody."""

    outcome: str
    claimed_distance: float
    nearest_other: Neighbour[K] | None
    reasons: tuple[Reason, ...]

    def evidence(self, key_name: str = "trainee_id") -> dict[str, Any]:
        near = self.nearest_other
        return {"outcome": self.outcome, "claimed_distance": round(self.claimed_distance, 4),
                "nearest_other": None if near is None else {key_name: near.key, "distance": round(near.distance, 4)},
                "reasons": reasons_evidence(self.reasons)}


def check_roster(probe: np.ndarray, claimed: Template, others: Mapping[K, Template],
                 settings: RecognitionSettings) -> RosterCheck[K]:
    """Compare ``probe`` with the claimed template and every other template (tens for a class:
    a numpy scan takes microseconds)."""
    probe = np.asarray(probe, dtype=np.float64)
    own = claimed.distance(probe)
    if not others:
        return RosterCheck(ACCEPT, own, None, ())
    keys = list(others)
    centroids = np.stack([others[k].centroid for k in keys])
    dists = np.linalg.norm(centroids - probe, axis=1)
    at = int(np.argmin(dists))
    near = Neighbour(keys[at], float(dists[at]))
    if near.distance <= own:
        return RosterCheck(REFUSE, own, near, (reason(
            "face_closer_to_other", f"claimed {own:.3f}, another enrolled person {near.distance:.3f}"),))
    # The other person's own thresholds are not known here: their strictest accept distance.
    strict = settings.match_threshold + template_shift(None, settings)[0]
    if near.distance < strict:
        return RosterCheck(REVIEW, own, near, (reason(
            "face_near_other", f"claimed {own:.3f}, another enrolled person {near.distance:.3f} < {strict:.3f}"),))
    return RosterCheck(ACCEPT, own, near, ())
