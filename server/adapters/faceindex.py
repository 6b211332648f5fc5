"""A 1:N index of face templates: which enrolled template is nearest to this encoding?

Why: "one face, one identity across the deployment" means an enrolment must be compared with
every template the deployment holds (about 1M at a province's size), not only with the
trainee's own. A linear scan of 1M x 128 floats costs tens of milliseconds per query and grows
with the deployment; an HNSW graph answers in well under a millisecond and grows with log N.

Library: usearch (Apache-2.0, Unum), the HNSW index with prebuilt wheels for every platform we
deploy on; chosen over hnswlib (no release since 2023) and faiss-cpu (a much larger wheel, and
its HNSW cannot remove a vector). usearch installed and worked here, so no fallback is used.

Vectors are template centroids (``recognition.Template.centroid``), stored as float32 (dlib's
encodings carry no more precision than that); distances are Euclidean, as everywhere else in
the face pipeline. The index holds no names and no images, only ids and vectors; it is rebuilt
from the database at start-up (``rebuild``) and kept in step by the services (``add``/``remove``).
This module knows nothing of the database: the services decide what goes in.

Guarantees the services rely on:
- an erased template is never returned again: ``remove`` drops it from the index and from the
  table of live entries, and ``search`` returns only keys still in that table (HNSW deletes are
  lazy: the graph keeps the node, flagged, so the table is the second line of defence);
- small indexes (fewer than ``exact_below`` vectors) are searched exactly, so results there do
  not depend on graph construction;
- one lock around every mutation and search (the web server is threaded); a ``rebuild`` builds
  its new graph outside the lock, so searches go on meanwhile, and replays the adds and removes
  made while it built before swapping the new graph in.

Known limit (HNSW, not usearch alone): the graph is approximate. At 1M templates it returned
99.5-99.8% of the exact ten nearest (bench/dedup.py), and 4-9 templates per thousand were not
found even by their own vector. One shape of data makes that much worse: a vector with hundreds
of near copies around it (the copies lose every in-link to the hub under neighbour pruning;
tests/unit/test_faceindex.py leaves such hubs out). Real deployments hold one template per
person, not hundreds of copies of one face, but the service should treat "no hit" as "no hit
found", not as proof.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from usearch.index import Index

#: Below this many vectors a search is an exact numpy scan (deterministic, and at this size as
#: fast as the graph). bench/dedup.py measures where the graph starts to win.
EXACT_BELOW = 2_000
#: HNSW parameters. connectivity 16 / expansion_add 128 are usearch's defaults. expansion_search
#: is raised from its default 64 to 256 because a missed duplicate is a second identity: at 1M
#: templates bench/dedup.py measured recall@10 0.94 / 0.98-0.99 / 0.995-0.998 at 64 / 128 / 256
#: (512 adds nothing), for a p50 of about 0.5-1 / 0.6-1.4 / 0.9-1.8 ms on a shared 2-core
#: machine; a millisecond or two is nothing beside the face encoding an enrolment runs anyway.
CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 256
#: A search that skips one trainee's templates asks for this many more candidates first: a
#: trainee holds a handful of templates at most (re-enrolments), so one round nearly always does.
EXCLUDE_SLACK = 8
#: ``rebuild`` adds in batches of this many, so a 1M rebuild never holds a second full copy of
#: the vectors as Python objects.
REBUILD_BATCH = 50_000


@dataclass(frozen=True)
class Hit:
    """One template near the query: its id, its trainee, and the Euclidean distance."""

    template_id: int
    trainee_id: int
    distance: float


_Op = tuple[int, int, NDArray[np.float32] | None]  # (template_id, trainee_id, vector); None vector = remove


class FaceIndex:
    """Approximate nearest neighbours over template centroids (exact below ``exact_below``)."""

    def __init__(self, dims: int = 128, *, exact_below: int = EXACT_BELOW, expansion_search: int = EXPANSION_SEARCH) -> None:
        if dims < 1 or expansion_search < 1:
            raise ValueError(f"dims and expansion_search must be positive, got {dims} and {expansion_search}")
        self.dims = dims
        self.exact_below = exact_below
        self._expansion_search = expansion_search
        self._lock = threading.Lock()
        # Rebuilds run one at a time; a second caller waits rather than interleaving its swap.
        self._rebuild_lock = threading.Lock()
        self._index = self._new_index()
        # The live entries, template_id -> trainee_id: the source of truth for what exists.
        self._trainee: dict[int, int] = {}
        # The exact scan's matrix, made on the first small search after a mutation.
        self._exact: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]] | None = None
        # Mutations made while a rebuild builds outside the lock, replayed onto the new graph.
        self._pending: list[_Op] | None = None

    # --- mutation -------------------------------------------------------------------------------

    def add(self, template_id: int, trainee_id: int, vector: ArrayLike) -> None:
        """Add a template, or replace the one with the same ``template_id``."""
        key = _key(template_id)
        vec = self._vector(vector)
        with self._lock:
            self._put(self._index, self._trainee, key, int(trainee_id), vec)
            self._exact = None
            if self._pending is not None:
                self._pending.append((key, int(trainee_id), vec))

    def remove(self, template_id: int) -> None:
        """Erase a template; nothing happens if it is not there."""
        key = _key(template_id)
        with self._lock:
            _drop(self._index, self._trainee, key)
            self._exact = None
            if self._pending is not None:
                self._pending.append((key, 0, None))

    def rebuild(self, entries: Iterable[tuple[int, int, ArrayLike]]) -> None:
        """Replace the whole content with ``entries`` (template_id, trainee_id, vector); a
        template_id given twice keeps its last vector.

        The new graph is built outside the lock (``entries`` may be a database cursor, and a 1M
        build takes minutes), so searches answer from the old content meanwhile. Adds and removes
        made during the build are recorded and applied to the new graph before it is swapped in:
        a template erased while a rebuild ran stays erased even if ``entries`` still held it."""
        with self._rebuild_lock:
            with self._lock:
                self._pending = []
            try:
                index, trainee = self._new_index(), dict[int, int]()
                keys: list[int] = []
                trainees: list[int] = []
                rows: list[NDArray[np.float32]] = []
                for template_id, trainee_id, vector in entries:
                    keys.append(_key(template_id))
                    trainees.append(int(trainee_id))
                    rows.append(self._vector(vector))
                    if len(keys) >= REBUILD_BATCH:
                        self._add_batch(index, trainee, keys, trainees, rows)
                        keys, trainees, rows = [], [], []
                self._add_batch(index, trainee, keys, trainees, rows)
            except BaseException:
                with self._lock:
                    self._pending = None
                raise
            with self._lock:
                assert self._pending is not None
                for key, trainee_id, vec in self._pending:
                    if vec is None:
                        _drop(index, trainee, key)
                    else:
                        self._put(index, trainee, key, trainee_id, vec)
                # If it was changed during the build. (usearch defines the setter, but not next to
                # its getter, so mypy takes the property for read-only.)
                index.expansion_search = self._expansion_search  # type: ignore[misc]
                self._index, self._trainee = index, trainee
                self._exact = None
                self._pending = None

    # --- queries --------------------------------------------------------------------------------

    def search(self, vector: ArrayLike, k: int, *, exclude_trainee: int | None = None) -> list[Hit]:
        """At most ``k`` templates nearest to ``vector``, nearest first, skipping the templates of
        ``exclude_trainee`` (k others are still returned when the index holds k others)."""
        if k < 1:
            return []
        query = self._vector(vector)
        with self._lock:
            if len(self._trainee) < self.exact_below:
                return self._search_exact(query, k, exclude_trainee)
            return self._search_graph(query, k, exclude_trainee)

    @property
    def expansion_search(self) -> int:
        """HNSW's search breadth: higher finds more of the true nearest, and costs time."""
        return self._expansion_search

    @expansion_search.setter
    def expansion_search(self, value: int) -> None:
        if value < 1:
            raise ValueError(f"expansion_search must be positive, got {value}")
        with self._lock:
            self._expansion_search = value
            self._index.expansion_search = value  # type: ignore[misc]  # (see rebuild)

    def __len__(self) -> int:
        with self._lock:
            return len(self._trainee)

    def template_ids(self) -> NDArray[np.int64]:
        """The ids of every live template (a copy: 8 bytes a template), for reconciling with the
        database."""
        with self._lock:
            return np.fromiter(self._trainee.keys(), dtype=np.int64, count=len(self._trainee))

    def __contains__(self, template_id: object) -> bool:
        if not isinstance(template_id, int | np.integer) or int(template_id) < 0:
            return False
        with self._lock:
            return int(template_id) in self._trainee

    # --- internals (callers hold the lock, or own the index they pass) ---------------------------

    def _new_index(self) -> Index:
        return Index(ndim=self.dims, metric="l2sq", dtype="f32", connectivity=CONNECTIVITY,
                     expansion_add=EXPANSION_ADD, expansion_search=self._expansion_search)

    def _vector(self, vector: ArrayLike) -> NDArray[np.float32]:
        # A copy: a pending replay or a batch must not change when the caller reuses its array.
        vec = np.array(vector, dtype=np.float32).reshape(-1)
        if vec.shape != (self.dims,):
            raise ValueError(f"expected a vector of {self.dims} values, got shape {np.shape(vector)}")
        if not np.all(np.isfinite(vec)):
            raise ValueError("the vector must be finite")
        return vec

    @staticmethod
    def _put(index: Index, trainee: dict[int, int], key: int, trainee_id: int, vec: NDArray[np.float32]) -> None:
        # usearch refuses a duplicate key, so a replacement is a remove then an add.
        _drop(index, trainee, key)
        index.add(key, vec)
        trainee[key] = trainee_id

    @staticmethod
    def _add_batch(index: Index, trainee: dict[int, int], keys: list[int], trainees: list[int],
                   rows: list[NDArray[np.float32]]) -> None:
        if not keys:
            return
        # Last one wins within the batch; ids already in the new index are replaced.
        last = {key: i for i, key in enumerate(keys)}
        for key in last:
            _drop(index, trainee, key)
        pick = np.fromiter(last.values(), dtype=np.int64, count=len(last))
        index.add(np.fromiter(last.keys(), dtype=np.uint64, count=len(last)), np.stack([rows[i] for i in pick]))
        for key, i in last.items():
            trainee[key] = trainees[i]

    def _search_exact(self, query: NDArray[np.float32], k: int, exclude: int | None) -> list[Hit]:
        if not self._trainee:
            return []
        if self._exact is None:
            keys = np.fromiter(self._trainee.keys(), dtype=np.int64, count=len(self._trainee))
            owners = np.fromiter(self._trainee.values(), dtype=np.int64, count=len(self._trainee))
            got = self._index.get(keys.astype(np.uint64))
            rows = got if isinstance(got, tuple) else (got,)  # a tuple of rows for several keys
            if any(row is None for row in rows):
                raise RuntimeError("face index out of step: a live template has no vector")
            # float64 once here, not at every search: distances are summed in double precision.
            vectors = np.asarray(np.stack([np.asarray(row) for row in rows]), dtype=np.float64).reshape(len(keys), self.dims)
            self._exact = (keys, owners, vectors)
        keys, owners, vectors = self._exact
        dist = np.sqrt(((vectors - query.astype(np.float64)) ** 2).sum(axis=1))
        if exclude is not None:
            keep = owners != exclude
            keys, owners, dist = keys[keep], owners[keep], dist[keep]
        # Ties broken by template id, so the same content always gives the same answer.
        order = np.lexsort((keys, dist))[:k]
        return [Hit(int(keys[i]), int(owners[i]), float(dist[i])) for i in order]

    def _search_graph(self, query: NDArray[np.float32], k: int, exclude: int | None) -> list[Hit]:
        total = len(self._trainee)
        if total == 0:
            return []
        count = min(total, k + (EXCLUDE_SLACK if exclude is not None else 0))
        while True:
            matches = self._index.search(query, count)
            hits: list[Hit] = []
            for key, d2 in zip(matches.keys.tolist(), matches.distances.tolist(), strict=True):
                owner = self._trainee.get(key)
                if owner is None or owner == exclude:  # erased (lazy delete) or the trainee skipped
                    continue
                hits.append(Hit(key, owner, float(np.sqrt(max(d2, 0.0)))))
                if len(hits) == k:
                    return hits
            # Too few left after skipping: ask for more, until the index has nothing more to give.
            if count >= total or len(matches.keys) < count:
                return hits
            count = min(total, count * 4)


def _key(template_id: int) -> int:
    key = int(template_id)
    if key < 0 or key >= 2**63:
        raise ValueError(f"template_id must be a non-negative 63-bit integer, got {template_id}")
    return key


def _drop(index: Index, trainee: dict[int, int], key: int) -> None:
    if trainee.pop(key, None) is not None:
        index.remove(key)
