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
    """Accept, review or refuse a distance, with the two thresholds that decided it."""

    outcome: str
    distance: float
    accept_below: float
    refuse_from: float
    reasons: tuple[Reason, ...]

    @property
    def accepted(self) -> bool:
        return self.outcome == ACCEPT

    def evidence(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "distance": round(self.distance, 4),
                "accept_below": self.accept_below, "refuse_from": self.refuse_from,
                "reasons": reasons_evidence(self.reasons)}


def decide(distance: float, settings: RecognitionSettings) -> IdentityDecision:
    """The deployed rule on one (fused) distance to the claimed template."""
    lo, hi = settings.match_threshold, settings.review_threshold
    if distance < lo:
        outcome, why = ACCEPT, reason("matched", f"distance {distance:.3f} < {lo:.3f}")
    elif distance < hi:
        outcome, why = REVIEW, reason("face_uncertain", f"{lo:.3f} <= distance {distance:.3f} < {hi:.3f}")
    else:
        outcome, why = REFUSE, reason("face_mismatch", f"distance {distance:.3f} >= {hi:.3f}")
    return IdentityDecision(outcome, distance, lo, hi, (why,))


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
    person is also within ``match_threshold`` (the machine would accept the face as theirs too).
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
    if near.distance < settings.match_threshold:
        return RosterCheck(REVIEW, own, near, (reason(
            "face_near_other", f"claimed {own:.3f}, another enrolled person {near.distance:.3f} < {settings.match_threshold:.3f}"),))
    return RosterCheck(ACCEPT, own, near, ())
