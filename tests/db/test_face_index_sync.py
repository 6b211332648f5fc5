"""The deployment's face index stays in step with the database it is not told about: what other
workers enrol, reject and erase (server/services/faceindex.py). Made-up encodings; real database."""
from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from recognition import Template
from server.models import Consent, FaceTemplate, TemplateDecision
from server.services import faceindex
from server.services.consent import CONSENT_SHA256, CONSENT_VERSION
from server.services.faceindex import TemplateIndex

NOW = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def _face(seed: int, model: str = "dlib") -> Template:
    return Template(model, "1", np.random.default_rng(seed).normal(0, 0.1, (1, 128)))


@pytest.fixture
def faces_of(session, world):
    """add(trainee_index, seed, id=None, model=...) -> the FaceTemplate row, committed (another
    worker's enrolment, as far as the index can tell)."""
    consents = {}

    def add(who: int, seed: int, template_id: int | None = None, model: str = "dlib") -> FaceTemplate:
        trainee = world["trainees"][who]
        if who not in consents:
            consents[who] = Consent(trainee_id=trainee.id, purpose="biometric", granted=True, text_version=CONSENT_VERSION,
                                    text_sha256=CONSENT_SHA256, channel="paper")
            session.add(consents[who])
            session.flush()
        t = _face(seed, model)
        row = FaceTemplate(id=template_id, trainee_id=trainee.id, template=t.to_bytes(), model=model, model_version="1",
                           photo_hashes=[], consent_id=consents[who].id, created_at=NOW)
        session.add(row)
        session.commit()
        return row

    return add


def _ids(index, session, seed, model="dlib"):
    return [h.template_id for h in index.search(session, _face(seed, model), 5, exclude_trainee=None)]


def test_a_template_another_worker_enrols_is_found_on_the_next_search(session, faces_of):
    first = faces_of(0, seed=1)
    index = TemplateIndex()
    assert _ids(index, session, 1) == [first.id]
    later = faces_of(1, seed=2)
    assert later.id not in index
    assert _ids(index, session, 2)[0] == later.id


def test_a_template_rejected_by_another_worker_leaves_the_index_on_the_next_sync(session, faces_of):
    row = faces_of(0, seed=1)
    faces_of(1, seed=2)
    index = TemplateIndex()
    index.warm(session)
    assert row.id in index
    session.add(TemplateDecision(template_id=row.id, decision="reject", reason="同一人", at=NOW))
    session.commit()
    index.sync(session)
    assert row.id not in index and len(index) == 1


def test_a_template_erased_by_another_worker_is_never_returned_even_before_the_index_hears_of_it(session, faces_of):
    row = faces_of(0, seed=1)
    index = TemplateIndex()
    index.warm(session)
    row.template, row.erased_at = b"", NOW
    session.commit()
    assert row.id in index  # nobody told this worker
    assert _ids(index, session, 1) == []
    assert row.id not in index


def test_a_template_committed_later_than_the_lookback_reaches_the_index_at_the_next_reconcile(session, faces_of, monkeypatch):
    monkeypatch.setattr(faceindex, "LOOKBACK_IDS", 0)
    clock = Clock()
    index = TemplateIndex(reconcile_seconds=600, clock=clock)
    faces_of(0, seed=1, template_id=10)
    index.warm(session)
    late = faces_of(1, seed=2, template_id=5)  # a lower id, visible only now (a long transaction)
    erased = faces_of(2, seed=3, template_id=11)
    index.sync(session)
    assert late.id not in index and erased.id in index
    erased.template, erased.erased_at = b"", NOW
    session.commit()
    clock.t += 601
    index.sync(session)
    assert late.id in index and erased.id not in index


def test_templates_of_another_model_are_never_compared(session, faces_of):
    dlib = faces_of(0, seed=1)
    other = faces_of(1, seed=1, model="other-model")
    index = TemplateIndex()
    assert _ids(index, session, 1) == [dlib.id]
    assert _ids(index, session, 1, model="other-model") == [other.id]
    assert _ids(index, session, 1, model="never-enrolled") == []


def test_a_template_whose_bytes_do_not_parse_is_left_out_rather_than_stopping_enrolment(session, faces_of):
    good = faces_of(0, seed=1)
    bad = faces_of(1, seed=2)
    bad.template = b"not a template"
    session.commit()
    index = TemplateIndex()
    assert _ids(index, session, 1) == [good.id]
    assert bad.id not in index
