"""Choosing the two thresholds of the three-way rule (recognition/identity.py) from measured
distances: genuine (same person) and impostor (another person) scores in, operating points out.

Pure: numpy arrays in, frozen dataclasses out; no files, no clock, no randomness. The same
functions serve ``python -m recognition.bench`` and ``hourproof faces calibrate``, so the figures
the bench prints and the thresholds a deployment sets come from one piece of arithmetic.

Conventions (the pipeline's): a score is a Euclidean distance; accepted means
``distance < threshold``; an unusable image (no face, failed quality gate) is a score of +inf, so
it is never accepted: a genuine one counts against TAR, an impostor one is refused.

The protocols turn labelled encodings into scores:

- ``pair_scores``: every listed pair of single photos (the pairs.csv of ../shared/faces*).
- ``gallery_scores``: what a check-in does: a template enrolled from a few photos, one probe photo.
- ``fused_probe_scores``: as gallery, with the probe the mean of several photos of one person,
  standing in for a liveness burst's fused frames (recognition.identity.fuse). Photos of one
  person taken on different days vary much more than frames of one burst, so this is
  conservative for genuine scores.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recognition.identity import template_shift
from recognition.settings import RecognitionSettings

Scores = NDArray[np.float64]

#: FARs the thinned DET curve shows (1, 2, 3, 5 per decade from 1e-4 to 1): about 17 rows, enough
#: to see the trade-off, few enough to read.
DET_FARS: tuple[float, ...] = tuple(
    round(m * 10.0**e, 6) for e in range(-4, 0) for m in (1, 2, 3, 5)) + (1.0,)


def _scores(values: ArrayLike, name: str) -> Scores:
    arr: Scores = np.asarray(values, dtype=np.float64).ravel()
    if np.isnan(arr).any():
        # NaN compares false with everything, so it would be neither accepted nor refused.
        raise ValueError(f"{name} scores contain NaN")
    return arr


def _both(genuine: ArrayLike, impostor: ArrayLike) -> tuple[Scores, Scores]:
    gen, imp = _scores(genuine, "genuine"), _scores(impostor, "impostor")
    if gen.size == 0:
        raise ValueError("no genuine scores (same-person comparisons): cannot measure how many honest check-ins pass")
    if imp.size == 0:
        raise ValueError("no impostor scores (comparisons of two people): cannot measure how many impostors pass")
    return gen, imp


def _accepted(sorted_scores: Scores, thresholds: Scores) -> NDArray[np.int64]:
    """How many scores are < each threshold (``sorted_scores`` ascending)."""
    counts: NDArray[np.int64] = np.searchsorted(sorted_scores, thresholds, side="left").astype(np.int64)
    return counts


# --- operating points ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DetPoint:
    """One threshold and its error rates: false accepts among impostors, false rejects among genuine."""

    threshold: float
    far: float
    frr: float


@dataclass(frozen=True)
class Operating:
    """A threshold with the share of impostors (``far``) and of genuine scores (``tar``) under it."""

    threshold: float
    far: float
    tar: float


def rates_at(genuine: ArrayLike, impostor: ArrayLike, threshold: float) -> Operating:
    """FAR and TAR when every distance < ``threshold`` is accepted."""
    gen, imp = _both(genuine, impostor)
    return Operating(float(threshold), float(np.mean(imp < threshold)), float(np.mean(gen < threshold)))


def det_curve(genuine: ArrayLike, impostor: ArrayLike) -> list[DetPoint]:
    """FAR and FRR at every distinct finite score as the threshold, ascending.

    Between two neighbouring scores nothing changes, so these points are the whole curve."""
    gen, imp = _both(genuine, impostor)
    thresholds = np.unique(np.concatenate([gen[np.isfinite(gen)], imp[np.isfinite(imp)]]))
    far = _accepted(np.sort(imp), thresholds) / imp.size
    frr = (gen.size - _accepted(np.sort(gen), thresholds)) / gen.size
    return [DetPoint(float(t), float(a), float(r)) for t, a, r in zip(thresholds, far, frr, strict=True)]


def thin_det(points: Sequence[DetPoint], fars: Sequence[float] = DET_FARS) -> list[DetPoint]:
    """A few rows of a DET curve for printing: for each FAR in ``fars``, the largest threshold
    whose FAR is at most it (the operating point an operator would pick for that FAR)."""
    chosen: dict[float, DetPoint] = {}
    far_of = np.array([p.far for p in points])
    for target in fars:
        # FAR never falls as the threshold rises, so the last point within the target is the largest.
        at = int(np.searchsorted(far_of, target, side="right")) - 1
        if at >= 0:
            chosen[points[at].threshold] = points[at]
    return [chosen[t] for t in sorted(chosen)]


def threshold_for_far(genuine: ArrayLike, impostor: ArrayLike, target_far: float) -> Operating:
    """The largest threshold whose FAR is at most ``target_far``.

    With the impostor scores sorted, at most ``floor(target_far * n)`` of them may be accepted, so
    the threshold is the next one: it is not itself accepted (accept is ``<``), and any larger
    threshold would accept it too. +inf when the target allows every impostor."""
    gen, imp = _both(genuine, impostor)
    if not 0.0 <= target_far <= 1.0:
        raise ValueError(f"target FAR must be between 0 and 1, got {target_far}")
    ordered = np.sort(imp)
    allowed = int(math.floor(target_far * ordered.size))
    threshold = float(ordered[allowed]) if allowed < ordered.size else math.inf
    return Operating(threshold, float(np.mean(imp < threshold)), float(np.mean(gen < threshold)))


def threshold_for_tar(genuine: ArrayLike, impostor: ArrayLike, target_tar: float) -> Operating:
    """The smallest threshold whose TAR is at least ``target_tar``: just above the genuine score
    that has to be accepted (the next float, since accept is ``<``). +inf when that score is
    itself +inf (too many unusable genuine images): then TAR stays below the target, as reported."""
    gen, imp = _both(genuine, impostor)
    if not 0.0 <= target_tar <= 1.0:
        raise ValueError(f"target TAR must be between 0 and 1, got {target_tar}")
    ordered = np.sort(gen)
    needed = int(math.ceil(target_tar * ordered.size))
    if needed == 0:
        threshold = float(ordered[0])  # nothing needs to be accepted: accept nothing
    else:
        threshold = float(np.nextafter(ordered[needed - 1], math.inf))
    return Operating(threshold, float(np.mean(imp < threshold)), float(np.mean(gen < threshold)))


def tar_at_far(genuine: ArrayLike, impostor: ArrayLike, far: float) -> tuple[float, float]:
    """(TAR, threshold) of ``threshold_for_far``: the bench's long-standing figure."""
    op = threshold_for_far(genuine, impostor, far)
    return op.tar, op.threshold


def equal_error_rate(genuine: ArrayLike, impostor: ArrayLike) -> tuple[float, float]:
    """(EER, threshold): where the false reject and false accept rates cross.

    Candidates are every finite score and a hair above it (so a threshold can sit on either side
    of a tie); the one with the smallest |FRR - FAR| wins, then the smallest mean, then the smallest
    threshold."""
    gen, imp = _both(genuine, impostor)
    finite = np.concatenate([gen[np.isfinite(gen)], imp[np.isfinite(imp)]])
    if finite.size == 0:
        return 1.0, 0.0
    candidates = np.unique(np.concatenate([finite, finite + 1e-9]))
    frr = (gen.size - _accepted(np.sort(gen), candidates)) / gen.size
    far = _accepted(np.sort(imp), candidates) / imp.size
    gap = np.abs(frr - far)
    mean = (frr + far) / 2
    # lexsort's last key is the primary one; ties keep candidate (ascending threshold) order.
    best = int(np.lexsort((mean, gap))[0])
    return float(mean[best]), float(candidates[best])


# --- the three-way rule -------------------------------------------------------------------------


@dataclass(frozen=True)
class ThreeWay:
    """Shares of genuine and impostor scores accepted (< ``accept_below``), sent to review, and
    refused (>= ``refuse_from``)."""

    accept_below: float
    refuse_from: float
    genuine_accepted: float
    genuine_review: float
    genuine_refused: float
    impostor_accepted: float
    impostor_review: float
    impostor_refused: float

    @property
    def review_per_100_honest(self) -> float:
        """Honest check-ins a person has to look at, per 100: the cost of the review band."""
        return 100.0 * self.genuine_review

    @property
    def refused_per_100_honest(self) -> float:
        return 100.0 * self.genuine_refused

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "review_per_100_honest": self.review_per_100_honest,
                "refused_per_100_honest": self.refused_per_100_honest}


def three_way(genuine: ArrayLike, impostor: ArrayLike, accept_below: float, refuse_from: float) -> ThreeWay:
    """The three-way rule's outcome shares on these scores (identity.decide's rule)."""
    gen, imp = _both(genuine, impostor)
    if refuse_from < accept_below:
        raise ValueError(f"refuse_from {refuse_from} is below accept_below {accept_below}")

    def split(s: Scores) -> tuple[float, float, float]:
        accepted = float(np.mean(s < accept_below))
        refused = float(np.mean(s >= refuse_from))
        return accepted, float(np.mean((s >= accept_below) & (s < refuse_from))), refused

    return ThreeWay(float(accept_below), float(refuse_from), *split(gen), *split(imp))


@dataclass(frozen=True)
class Calibration:
    """Both thresholds for the targets, with what they do on the scores they came from."""

    target_far: float
    target_tar: float
    genuine: int
    impostor: int
    strict: Operating  # the largest threshold with FAR <= target_far: accept below it
    loose: Operating  # the smallest threshold with TAR >= target_tar: refuse from it
    outcome: ThreeWay
    eer: float
    eer_threshold: float

    @property
    def accept_below(self) -> float:
        return self.outcome.accept_below

    @property
    def refuse_from(self) -> float:
        return self.outcome.refuse_from


def calibrate(genuine: ArrayLike, impostor: ArrayLike, target_far: float = 0.001,
              target_tar: float = 0.99) -> Calibration:
    """Accept below the strict threshold (FAR <= ``target_far``), refuse from the loose one (TAR
    >= ``target_tar``), and review between. When one threshold already meets both targets the
    band is empty (refuse_from = accept_below)."""
    gen, imp = _both(genuine, impostor)
    strict = threshold_for_far(gen, imp, target_far)
    loose = threshold_for_tar(gen, imp, target_tar)
    eer, eer_threshold = equal_error_rate(gen, imp)
    outcome = three_way(gen, imp, strict.threshold, max(strict.threshold, loose.threshold))
    return Calibration(target_far, target_tar, int(gen.size), int(imp.size), strict, loose, outcome, eer, eer_threshold)


def round_down(threshold: float, places: int = 3) -> float:
    """``threshold`` cut to ``places`` decimals, never above it: a rounded accept threshold
    must not let in a score the exact one refused."""
    if not math.isfinite(threshold):
        return threshold
    step = 10.0**-places
    value = round(math.floor(threshold / step) * step, places)
    while value > threshold:  # float rounding can land a hair above
        value = round(value - step, places)
    return value


def round_up(threshold: float, places: int = 3) -> float:
    """``threshold`` raised to ``places`` decimals, never below it: a rounded refuse threshold
    must not refuse a score the exact one let through to review."""
    if not math.isfinite(threshold):
        return threshold
    step = 10.0**-places
    value = round(math.ceil(threshold / step) * step, places)
    while value < threshold:
        value = round(value + step, places)
    return value


# --- protocols: labelled encodings -> scores ----------------------------------------------------

#: path -> identity, and path -> encoding (a path without one is an unusable image).
Identity = Mapping[str, str]
Encodings = Mapping[str, NDArray[Any]]


def pair_scores(pairs: Iterable[tuple[str, str, bool]], encodings: Encodings) -> tuple[Scores, Scores]:
    """(genuine, impostor) distances of listed pairs ``(path_a, path_b, same)``. A pair with an
    unusable image scores +inf (rejected)."""
    listed = list(pairs)
    paths = sorted({p for a, b, _ in listed for p in (a, b) if p in encodings})
    index = {p: i for i, p in enumerate(paths)}
    scores = np.full(len(listed), math.inf)
    ia = np.array([index.get(a, -1) for a, _, _ in listed], dtype=np.int64)
    ib = np.array([index.get(b, -1) for _, b, _ in listed], dtype=np.int64)
    usable = (ia >= 0) & (ib >= 0)
    if usable.any():
        matrix = np.stack([np.asarray(encodings[p], dtype=np.float64) for p in paths])
        scores[usable] = np.linalg.norm(matrix[ia[usable]] - matrix[ib[usable]], axis=1)
    same = np.array([s for _, _, s in listed], dtype=bool)
    return scores[same], scores[~same]


def photos_by_identity(identity: Identity) -> dict[str, list[str]]:
    """Each identity's photos in sorted path order: the order the protocols enrol and probe in."""
    out: dict[str, list[str]] = defaultdict(list)
    for path in sorted(identity):
        out[identity[path]].append(path)
    return dict(out)


def _template(paths: Sequence[str], encodings: Encodings) -> NDArray[np.float64]:
    # As recognition.Template does: enrolled encodings are kept as float32, compared via their mean.
    stacked = np.stack([np.asarray(encodings[p], dtype=np.float32) for p in paths])
    centroid: NDArray[np.float64] = stacked.astype(np.float64).mean(axis=0)
    return centroid


def _enrol(photos: Sequence[str], count: int, encodings: Encodings) -> list[str]:
    """The first ``count`` usable photos: an unusable enrolment photo would be refused at
    enrolment and another one taken, so it is skipped, not counted."""
    return [p for p in photos if p in encodings][:count]


def _distance(template: NDArray[np.float64], group: Sequence[str], encodings: Encodings) -> float:
    """Distance from the template to the mean of the group's usable photos (+inf if none is)."""
    usable = [np.asarray(encodings[p], dtype=np.float64) for p in group if p in encodings]
    if not usable:
        return math.inf
    return float(np.linalg.norm(np.mean(np.stack(usable), axis=0) - template))


def template_shifts(encodings: Encodings, identity: Identity, enrol_photos: int, keep_for_probes: int,
                    settings: RecognitionSettings) -> dict[str, float]:
    """Each identity's template shift (recognition.identity.template_shift) with every other
    identity's template as the deployment: what a deployment holding exactly these people would
    apply. Templates are enrolled as the protocols enrol them."""
    groups = photos_by_identity(identity)
    names, centroids = [], []
    for name, photos in groups.items():
        count = enrol_photos if len(photos) <= keep_for_probes else min(enrol_photos, len(photos) - keep_for_probes)
        enrolled = _enrol(photos, max(1, count), encodings)
        if enrolled:
            names.append(name)
            centroids.append(_template(enrolled, encodings))
    if not centroids:
        return {}
    matrix = np.stack(centroids)
    shifts = {}
    for i, name in enumerate(names):
        others = np.delete(np.linalg.norm(matrix - matrix[i], axis=1), i)
        shifts[name] = template_shift(others.tolist(), settings)[0]
    return shifts


def gallery_scores(encodings: Encodings, identity: Identity, enrol_photos: int = 3,
                   settings: RecognitionSettings | None = None) -> tuple[Scores, Scores]:
    """Enrol, then check in with one photo: (genuine, impostor) distances.

    Every identity with at least 2 photos is enrolled from its first min(``enrol_photos``, n - 1)
    usable photos (template = their mean); each of its other photos is a genuine probe, and every
    photo of every other identity (those with one photo too) is an impostor probe. Enrolment
    photos are never probes. An unusable probe scores +inf (rejected).

    With ``settings``, scores are distances minus each template's shift (per-template
    thresholds, the other identities standing in for the deployment): compare them with the
    deployment's ``match_threshold`` / ``review_threshold`` as they are."""
    if enrol_photos < 1:
        raise ValueError("enrol_photos must be at least 1")
    groups = photos_by_identity(identity)
    shifts = template_shifts(encodings, identity, enrol_photos, 1, settings) if settings else {}
    genuine: list[float] = []
    impostor: list[float] = []
    for name, photos in groups.items():
        if len(photos) < 2:
            continue
        enrolled = _enrol(photos, min(enrol_photos, len(photos) - 1), encodings)
        if not enrolled:
            continue  # nobody could be enrolled: no template to check in against
        template = _template(enrolled, encodings)
        shift = shifts.get(name, 0.0)
        genuine += [_distance(template, [p], encodings) - shift for p in photos if p not in enrolled]
        impostor += [_distance(template, [p], encodings) - shift
                     for other, theirs in groups.items() if other != name for p in theirs]
    return np.array(genuine, dtype=np.float64), np.array(impostor, dtype=np.float64)


def fused_probe_scores(encodings: Encodings, identity: Identity, enrol_photos: int = 3,
                       fuse: int = 3, settings: RecognitionSettings | None = None) -> tuple[Scores, Scores]:
    """Enrol, then check in with the mean of ``fuse`` photos: (genuine, impostor) distances.

    The photos stand in for a burst's frames, fused as recognition.identity.fuse does; photos of
    one person vary far more than one burst's frames, so genuine scores here are pessimistic.
    Every identity with at least 1 + ``fuse`` photos is enrolled from its first
    min(``enrol_photos``, n - ``fuse``) usable photos; its remaining photos, in consecutive groups
    of exactly ``fuse``, are genuine probes (a short last group is dropped). Impostor probes are
    every other identity's photos in consecutive groups of ``fuse``, the last one possibly shorter
    (so single-photo identities are probes too: a less averaged probe strays further, which can
    only make impostors look closer, never further)."""
    if enrol_photos < 1 or fuse < 1:
        raise ValueError("enrol_photos and fuse must be at least 1")
    groups = photos_by_identity(identity)
    shifts = template_shifts(encodings, identity, enrol_photos, fuse, settings) if settings else {}
    chunks = {name: [photos[i:i + fuse] for i in range(0, len(photos), fuse)] for name, photos in groups.items()}
    genuine: list[float] = []
    impostor: list[float] = []
    for name, photos in groups.items():
        if len(photos) < 1 + fuse:
            continue
        enrolled = _enrol(photos, min(enrol_photos, len(photos) - fuse), encodings)
        if not enrolled:
            continue
        template = _template(enrolled, encodings)
        rest = [p for p in photos if p not in enrolled]
        shift = shifts.get(name, 0.0)
        genuine += [_distance(template, rest[i:i + fuse], encodings) - shift for i in range(0, len(rest) - fuse + 1, fuse)]
        impostor += [_distance(template, chunk, encodings) - shift
                     for other, theirs in chunks.items() if other != name for chunk in theirs]
    return np.array(genuine, dtype=np.float64), np.array(impostor, dtype=np.float64)
