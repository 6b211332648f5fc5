"""Every route, walked by users of another district / institution / class: 403 or 404, never data.

The table of requests (tests/factories.py, route_targets) must name every endpoint in the
registry: a new endpoint without a row fails this test, so no route escapes the walk."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.api.framework import REGISTRY
from server.models import (
    AssessmentResult,
    Certificate,
    ClassAmendment,
    Consent,
    Enrollment,
    Event,
    ExportJob,
    FaceTemplate,
    GroupPhoto,
    Heartbeat,
    Lesson,
    LessonQuiz,
    NonfaceRequest,
    QuizAttempt,
    Seal,
    SpotCheck,
    SubsidyHistoryCheck,
    SubsidyHistoryEntry,
    Teacher,
    TemplateDecision,
    TrainingClass,
    Venue,
    VenueFenceDecision,
)
from tests.factories import add_held_template, api_rule, post_multipart, route_targets

OUTSIDERS = ["nanan-supervisor", "nanan-admin", "nanan-teacher", "nanan-trainee"]
#: Endpoints that are about the caller only, not about anything in a scope.
SELF_ONLY = {("POST", "/api/auth/login"), ("POST", "/api/auth/activate"), ("POST", "/api/auth/logout"),
             ("GET", "/api/auth/me"), ("GET", "/api/consent-text"),
             ("GET", "/api/districts"),  # public administrative divisions, the same for everyone
             ("GET", "/api/signing-key"),  # the deployment's public key, the same for everyone
             # the caller's own refusal of face processing (services/nonface.py): nobody else's
             ("GET", "/api/me/face-refusal"), ("POST", "/api/me/face-refusal"),
             # the caller's own face data and a copy of their own records (services/data_rights.py)
             ("GET", "/api/me/face-data"), ("GET", "/api/me/face-data/copy")}
LISTS = {("GET", "/api/classes"), ("GET", "/api/institutions"), ("GET", "/api/audit"), ("GET", "/api/live/snapshot"),
         ("GET", "/api/face-holds"), ("GET", "/api/venue-fences/pending")}


def _counts(session):
    return {m.__name__: session.scalar(select(func.count()).select_from(m))
            for m in (Venue, Teacher, TrainingClass, Lesson, Enrollment, Consent, FaceTemplate, ClassAmendment, Event,
                      LessonQuiz, QuizAttempt, NonfaceRequest,
                      Heartbeat, SpotCheck, ExportJob, Seal, AssessmentResult, Certificate, GroupPhoto, SubsidyHistoryEntry,
                      SubsidyHistoryCheck, TemplateDecision, VenueFenceDecision)}


def _history_entry(session, y) -> None:
    """A subsidy history entry of the yubei trainee, for the walk to try to withdraw."""
    from datetime import date

    from server.models import Level

    entry = SubsidyHistoryEntry(trainee_id=y.trainee_id, occupation_code="2-02-38-03", level=Level.junior,
                                training_start=date(2025, 4, 1), kind="training", source="hrss",
                                recorded_by_name="yubei-admin")
    session.add(entry)
    session.commit()
    y.history_entry_id = entry.id


def test_the_walk_covers_every_registered_endpoint(worlds):
    targets = route_targets(worlds["yubei"])
    missing = [(e.method, api_rule(e)) for e in REGISTRY
               if (e.method, api_rule(e)) not in targets and (e.method, api_rule(e)) not in SELF_ONLY | LISTS]
    assert missing == []


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_users_of_another_district_or_institution_get_403_or_404_on_every_route(worlds, login, session, outsider):
    y = worlds["yubei"]
    _history_entry(session, y)
    add_held_template(session, y)
    api = login(outsider)
    before = _counts(session)
    for (method, _rule), (url, body, multipart) in route_targets(y).items():
        if multipart is not None:
            resp = post_multipart(api, url, dict(multipart))
        elif method == "GET":
            resp = api.get(url)
        elif method == "DELETE":
            resp = api.client.delete(url, headers={"X-CSRF-Token": api.csrf})
        else:
            resp = api.post(url, json=body)
        assert resp.status_code in (403, 404), f"{outsider} {method} {url} -> {resp.status_code} {resp.get_data(as_text=True)[:200]}"
    session.rollback()  # end the read snapshot, see what requests wrote
    assert _counts(session) == before


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_lists_show_an_outsider_nothing_of_the_other_world(worlds, login, session, outsider):
    add_held_template(session, worlds["yubei"])
    api = login(outsider)
    for url in ("/api/classes", "/api/institutions", "/api/audit", "/api/live/snapshot?since=0", "/api/face-holds",
                "/api/venue-fences/pending"):
        resp = api.get(url)
        assert resp.status_code in (200, 403)
        if resp.status_code == 200:
            text = resp.get_data(as_text=True)
            assert "yubei" not in text, f"{outsider} saw yubei data in {url}"


def test_each_role_sees_its_own_world_in_the_class_list(worlds, login):
    y = worlds["yubei"]
    for username in ["yubei-supervisor", "yubei-admin", "yubei-teacher", "yubei-trainee", "city", "admin"]:
        ids = [c["id"] for c in login(username).get("/api/classes").get_json()]
        assert y.class_id in ids, username
    assert sorted(c["id"] for c in login("city").get("/api/classes").get_json()) == sorted(
        [worlds["yubei"].class_id, worlds["nanan"].class_id])


def test_resident_ids_are_masked_for_supervisors_and_teachers_but_not_for_the_institution(worlds, login):
    y = worlds["yubei"]
    url = f"/api/classes/{y.class_id}/enrollments"
    full = login("yubei-admin").get(url).get_json()[0]["trainee"]["resident_id"]
    masked = login("yubei-supervisor").get(url).get_json()[0]["trainee"]["resident_id"]
    teacher = login("yubei-teacher").get(url).get_json()[0]["trainee"]["resident_id"]
    assert full == "500112199503120419"
    assert masked == teacher == "5001**********0419"


def test_a_trainee_sees_only_their_own_enrollment_in_their_class(worlds, login, session):
    from server.models import Trainee

    y = worlds["yubei"]
    other = Trainee(resident_id="500112200102150647", name="同班同学")
    session.add(other)
    session.flush()
    session.add(Enrollment(class_id=y.class_id, trainee_id=other.id))
    session.commit()
    rows = login("yubei-trainee").get(f"/api/classes/{y.class_id}/enrollments").get_json()
    assert [r["trainee"]["id"] for r in rows] == [y.trainee_id]
