"""Group photos (Jiangsu's offline lessons): find every face and match it 1:N against the class's
enrolled templates, each template used at most once, by the best overall assignment.

Why an assignment and not "nearest template per face": two similar-looking trainees would both be
claimed by one face, and the other face reported unknown. The assignment first maximises the number
of faces matched under the threshold, then minimises the summed distance.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from recognition.faces import Box, Recognizer, detect_faces
from recognition.images import ImageError, LoadedImage, as_loaded
from recognition.matching import Template
from recognition.reasons import Reason, reason, reasons_evidence
from recognition.settings import RecognitionSettings


@dataclass(frozen=True)
class GroupFace:
    """A face found in the group photo, and who it was matched to (None: unknown)."""

    box: Box
    trainee: str | None
    distance: float | None  # to the assigned template, or to the nearest one if unknown


@dataclass(frozen=True)
class GroupMatch:
    """Who is in the photo, who is not, which faces are nobody on the roster."""

    present: tuple[str, ...]
    absent: tuple[str, ...]
    faces: tuple[GroupFace, ...]
    unknown: tuple[GroupFace, ...]
    threshold: float
    model_name: str
    model_version: str
    reasons: tuple[Reason, ...]
    #: trainees whose face was assigned in the band between ``match_threshold`` and
    #: ``review_threshold``: neither present nor absent until a person looks at the photo.
    uncertain: tuple[str, ...] = ()
    review_threshold: float | None = None

    def evidence(self) -> dict[str, Any]:
        """JSON-ready evidence: who was present or absent, each face's box and distance."""
        return {
            "present": list(self.present),
            "absent": list(self.absent),
            "uncertain": list(self.uncertain),
            "faces": [{"box": [f.box.left, f.box.top, f.box.right, f.box.bottom], "trainee": f.trainee,
                       "distance": None if f.distance is None else round(f.distance, 4)}
                      for f in self.faces],
            "threshold": self.threshold,
            "review_threshold": self.review_threshold,
            "model_name": self.model_name,
            "model_version": self.model_version,
            "reasons": reasons_evidence(self.reasons),
        }


def min_cost_assignment(cost: np.ndarray) -> list[tuple[int, int]]:
    """Hungarian algorithm (shortest augmenting paths with potentials, O(n^2 m)) for an n x m
    cost matrix with n <= m: returns (row, column) pairs covering every row at minimum total cost.
    """
    n, m = cost.shape
    if n == 0:
        return []
    if n > m:
        return [(r, c) for c, r in min_cost_assignment(cost.T)]
    inf = float("inf")
    u = np.zeros(n + 1)
    v = np.zeros(m + 1)
    p = np.zeros(m + 1, dtype=int)  # p[j]: row (1-based) assigned to column j
    way = np.zeros(m + 1, dtype=int)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = np.full(m + 1, inf)
        used = np.zeros(m + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = p[j0]
            delta = inf
            j1 = 0
            for j in range(1, m + 1):
                if not used[j]:
                    cur = cost[i0 - 1, j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j] = cur
                        way[j] = j0
                    if minv[j] < delta:
                        delta = minv[j]
                        j1 = j
            for j in range(m + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while True:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
            if j0 == 0:
                break
    return sorted((int(p[j]) - 1, j - 1) for j in range(1, m + 1) if p[j] != 0)


def best_matches(distances: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Face-to-template pairs under ``threshold``: most pairs first, then least total distance.

    Pairs at or over the threshold get a cost larger than any sum of allowed distances, so the
    algorithm never trades a match for a lower total.
    """
    if distances.size == 0:
        return []
    n, m = distances.shape
    allowed = distances < threshold
    big = float(threshold) * (min(n, m) + 1) + 1.0
    cost = np.where(allowed, distances, big)
    return [(f, t) for f, t in min_cost_assignment(cost) if allowed[f, t]]


def match_group_photo(photo: bytes | LoadedImage | np.ndarray, roster: Mapping[str, Template],
                      recognizer: Recognizer, settings: RecognitionSettings | None = None) -> GroupMatch:
    """Match every face in a group photo to the class roster (trainee id -> template).

    Templates made by another model are treated as absent with a ``model_mismatch`` reason rather
    than compared across models.
    """
    settings = settings or RecognitionSettings()
    thr = settings.match_threshold
    ids = list(roster)

    def result(present: Sequence[str], faces: Sequence[GroupFace], unknown: Sequence[GroupFace],
               reasons: Sequence[Reason], uncertain: Sequence[str] = ()) -> GroupMatch:
        absent = tuple(t for t in ids if t not in present and t not in uncertain)
        return GroupMatch(tuple(present), absent, tuple(faces), tuple(unknown), thr,
                          recognizer.model_name, recognizer.model_version, tuple(reasons),
                          tuple(uncertain), settings.review_threshold)

    try:
        loaded = as_loaded(photo, settings)
    except ImageError as exc:
        return result((), (), (), [exc.reason])
    reasons: list[Reason] = []
    usable = [t for t in ids if (roster[t].model_name, roster[t].model_version)
              == (recognizer.model_name, recognizer.model_version)]
    for t in ids:
        if t not in usable:
            reasons.append(reason("model_mismatch", f"trainee {t}"))
    boxes = [b for b in detect_faces(loaded, recognizer, settings.group_detect_max_side,
                                     settings.group_detect_upsample)
             if b.width >= settings.group_min_face_px]
    if not boxes:
        return result((), (), (), reasons + [reason("group_no_faces", "no face detected")])
    encodings = [recognizer.encode(loaded.rgb, b) for b in boxes]
    centroids = np.stack([roster[t].centroid for t in usable]) if usable else np.zeros((0, 1))
    if usable:
        dist = np.linalg.norm(np.stack(encodings)[:, None, :] - centroids[None, :, :], axis=2)
    else:
        dist = np.zeros((len(boxes), 0))
    # Assigned under the loose threshold (so a face in the review band still claims its trainee
    # and cannot be given to a look-alike), present only under the strict one.
    pairs = dict(best_matches(dist, settings.review_threshold))
    faces: list[GroupFace] = []
    for f, box in enumerate(boxes):
        if f in pairs:
            faces.append(GroupFace(box, usable[pairs[f]], float(dist[f, pairs[f]])))
        else:
            nearest = float(dist[f].min()) if dist.shape[1] else None
            faces.append(GroupFace(box, None, nearest))
    present = [t for t in ids if any(face.trainee == t and (face.distance or 0.0) < thr for face in faces)]
    uncertain = [t for t in ids if t not in present and any(face.trainee == t for face in faces)]
    unknown = [face for face in faces if face.trainee is None]
    return result(present, faces, unknown, reasons, uncertain)
