"""The deployment's face index, kept in step with the database: what enrolment searches to keep
one face to one identity (services/faces.py).

adapters/faceindex.py answers "which templates are nearest to this face" and knows nothing of the
database; this module decides what is in it and keeps it there. One instance per app
(``app.extensions["hourproof_face_index"]``), so one per web worker process.

What it holds: every template neither erased nor rejected, that is every template in force *and*
every held one still waiting for a decision. Held ones too, because a second enrolment of the same
face while the first waits (two ghost trainees in one afternoon) must be held as well; the hold's
matches then name the waiting template, and the reviewer sees both. Superseded templates (replaced
by a re-enrolment, not erased) stay too: a face that was once one trainee's should not quietly
become another's. One adapter index per (model, model version): distances between encodings of
two models mean nothing.

Staying in step: every worker (and the scheduler) writes to the database, each worker has its own
index, and nothing tells one process what another did. So, before every search:

1. **built lazily** on first use, from the database (one pass over the templates, streamed);
2. **synced**: templates with ids above the highest seen, less ``LOOKBACK_IDS``, not yet indexed
   are added, and rejections with decision ids above the last seen, less the same lookback, are
   removed. Why the lookback: PostgreSQL hands out ids when a row is inserted and transactions
   commit in any order, so a template with a lower id may become visible after a higher one;
   re-reading the last few thousand ids (an index range scan of ids) catches it. Cost: two range
   scans of the primary keys, whatever the deployment's size;
3. **every hit checked** against the database before it is returned (one query of at most k ids):
   a template erased (consent withdrawn) or rejected in another process, and not yet dropped
   here, is dropped now and never reported. That is what makes "an erased template is never found
   again" hold across processes without scanning for erasures on every search; erasures made in
   this process leave the index at once (``faces.erase_templates``);
4. **reconciled** every ``reconcile_seconds`` (default 15 minutes): the ids in force in the
   database against the ids in the index, both ways. It catches a template that committed more
   than ``LOOKBACK_IDS`` ids late, and drops erased entries nobody searched near. Cost at 1M
   templates: one scan of 1M ids (about a second on PostgreSQL, some 40 MB of Python ints for a
   moment), four times an hour per worker.

The first build at 1M templates takes minutes (decoding 1M templates, then the HNSW graph: see
bench/dedup.py): ``warm(session)`` it when a worker starts rather than on the first enrolment.

Not solved here: two enrolments of the same face in two workers at the same instant each search
before the other commits, and neither is held. Enrolment is an office task done one trainee at a
time, so the window is a second; the next enrolment of that face is held against both.
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from server.models import FaceTemplate, TemplateDecision
from server.services.faces import decided

if TYPE_CHECKING:  # numpy, usearch and dlib's wrapper load only when an index is first used
    import numpy as np
    from numpy.typing import NDArray

    from recognition import Template
    from server.adapters.faceindex import FaceIndex, Hit

log = logging.getLogger("hourproof.faceindex")

#: How far below the highest id seen each sync looks again (see the module's docstring, 2).
LOOKBACK_IDS = 2_000
#: How often the whole index is compared with the database (see the module's docstring, 4).
RECONCILE_SECONDS = 15 * 60
#: Rows decoded per round trip when building or adding.
FETCH_BATCH = 1_000

ModelKey = tuple[str, str]


def indexed() -> ColumnElement[bool]:
    """SQL: the templates the index holds (neither erased nor rejected)."""
    return FaceTemplate.erased_at.is_(None) & ~decided("reject")


class TemplateIndex:
    """The deployment's templates, searchable by face; thread-safe (the web server is threaded)."""

    def __init__(self, *, reconcile_seconds: float = RECONCILE_SECONDS, clock=time.monotonic) -> None:
        self.reconcile_seconds = reconcile_seconds
        self._clock = clock
        self._indexes: dict[ModelKey, FaceIndex] = {}
        # Syncs (and builds) one at a time: each moves the watermarks below.
        self._lock = threading.Lock()
        self._built = False
        self._high_template_id = 0
        self._high_decision_id = 0
        self._reconciled_at = 0.0

    # --- what enrolment and erasure call -------------------------------------------------------

    def search(self, session: Session, template: Template, k: int, exclude_trainee: int | None) -> list[Hit]:
        """The k templates nearest to ``template``'s centroid among those of its model, skipping
        ``exclude_trainee``'s; each checked against the database (erased and rejected ones never come back)."""
        self.sync(session)
        index = self._indexes.get((template.model_name, template.model_version))
        if index is None or k < 1:
            return []
        centroid = template.centroid
        while True:
            hits = index.search(centroid, k, exclude_trainee=exclude_trainee)
            if not hits:
                return []
            live = set(session.scalars(select(FaceTemplate.id).where(
                FaceTemplate.id.in_([h.template_id for h in hits]), indexed())))
            stale = [h.template_id for h in hits if h.template_id not in live]
            if not stale:
                return hits
            # Erased or rejected elsewhere since this index last looked: drop them and ask again
            # (the next nearest may be a real match). Ends: each round removes at least one.
            for template_id in stale:
                self.remove(template_id)

    def add(self, template_id: int, trainee_id: int, template: Template) -> None:
        self._index_for((template.model_name, template.model_version), template.centroid.shape[0]).add(
            template_id, trainee_id, template.centroid)

    def remove(self, template_id: int) -> None:
        for index in list(self._indexes.values()):
            index.remove(template_id)

    def __contains__(self, template_id: object) -> bool:
        return any(template_id in index for index in list(self._indexes.values()))

    def __len__(self) -> int:
        return sum(len(index) for index in list(self._indexes.values()))

    # --- keeping in step with the database -------------------------------------------------------

    def warm(self, session: Session) -> None:
        """Build now (a worker's start-up) rather than on the first enrolment."""
        self.sync(session)

    def sync(self, session: Session) -> None:
        """Bring the index in step with what ``session`` sees (see the module's docstring)."""
        with self._lock:
            if not self._built:
                self._build(session)
            elif self._clock() - self._reconciled_at >= self.reconcile_seconds:
                self._reconcile(session)
            else:
                self._catch_up(session)

    def _build(self, session: Session) -> None:
        # The watermarks first: whatever commits during the build is read again by the next sync.
        self._high_template_id = session.scalar(select(func.max(FaceTemplate.id))) or 0
        self._high_decision_id = session.scalar(select(func.max(TemplateDecision.id))) or 0
        started = time.monotonic()
        models = session.execute(select(FaceTemplate.model, FaceTemplate.model_version).where(indexed()).distinct()).all()
        for model, version in models:
            rows = session.execute(
                select(FaceTemplate.id, FaceTemplate.trainee_id, FaceTemplate.template)
                .where(indexed(), FaceTemplate.model == model, FaceTemplate.model_version == version)
                .execution_options(yield_per=FETCH_BATCH))
            # Streamed into the adapter (which adds in batches): 1M decoded centroids at once would
            # be a gigabyte of Python objects. The first one tells the model's dimensions.
            entries = _centroids(rows)
            first = next(entries, None)
            if first is not None:
                self._index_for((model, version), len(first[2])).rebuild(itertools.chain([first], entries))
        self._built = True
        self._reconciled_at = self._clock()
        log.info("face index built: %d templates of %d model(s) in %.1f s", len(self), len(models), time.monotonic() - started)

    def _catch_up(self, session: Session) -> None:
        floor = max(0, self._high_template_id - LOOKBACK_IDS)
        recent = session.execute(select(FaceTemplate.id, indexed()).where(FaceTemplate.id > floor)).all()
        self._high_template_id = max([self._high_template_id, *(i for i, _ in recent)])
        self._add_rows(session, [i for i, live in recent if live and i not in self])
        dfloor = max(0, self._high_decision_id - LOOKBACK_IDS)
        decisions = session.execute(select(TemplateDecision.id, TemplateDecision.template_id, TemplateDecision.decision)
                                    .where(TemplateDecision.id > dfloor)).all()
        self._high_decision_id = max([self._high_decision_id, *(i for i, _, _ in decisions)])
        for _, template_id, decision in decisions:
            if decision == "reject":
                self.remove(template_id)

    def _reconcile(self, session: Session) -> None:
        self._high_template_id = session.scalar(select(func.max(FaceTemplate.id))) or 0
        self._high_decision_id = session.scalar(select(func.max(TemplateDecision.id))) or 0
        wanted = set(session.scalars(select(FaceTemplate.id).where(indexed())))
        present: set[int] = set()
        for index in list(self._indexes.values()):
            present.update(index.template_ids().tolist())
        for template_id in present - wanted:
            self.remove(template_id)
        self._add_rows(session, sorted(wanted - present))
        self._reconciled_at = self._clock()
        if present ^ wanted:
            log.info("face index reconciled: %d removed, %d added", len(present - wanted), len(wanted - present))

    def _add_rows(self, session: Session, template_ids: list[int]) -> None:
        for start in range(0, len(template_ids), FETCH_BATCH):
            rows = session.execute(select(FaceTemplate.id, FaceTemplate.trainee_id, FaceTemplate.template,
                                          FaceTemplate.model, FaceTemplate.model_version)
                                   .where(FaceTemplate.id.in_(template_ids[start:start + FETCH_BATCH]))).all()
            for template_id, trainee_id, data, model, version in rows:
                for _, _, centroid in _centroids([(template_id, trainee_id, data)]):
                    self._index_for((model, version), len(centroid)).add(template_id, trainee_id, centroid)

    def _index_for(self, key: ModelKey, dims: int) -> FaceIndex:
        index = self._indexes.get(key)
        if index is None:
            from server.adapters.faceindex import FaceIndex

            index = self._indexes[key] = FaceIndex(dims)
        return index


def _centroids(rows: Iterable) -> Iterator[tuple[int, int, NDArray[np.float64]]]:
    """(template_id, trainee_id, centroid) of each row; a row whose bytes do not parse is skipped
    (and logged): one damaged row must not stop every enrolment of the deployment."""
    from recognition import Template

    for template_id, trainee_id, data in rows:
        try:
            centroid = Template.from_bytes(bytes(data)).centroid
        except ValueError:
            log.warning("face template %s does not parse; it is left out of the face index", template_id)
            continue
        yield int(template_id), int(trainee_id), centroid
