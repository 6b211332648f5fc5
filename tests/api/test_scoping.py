"""Every route, walked by users of another district / institution / class: 403 or 404, never data.

The table below must name every endpoint in the registry: a new endpoint without a row fails
this test, so no route escapes the walk."""
from __future__ import annotations

import io

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
    Seal,
    SpotCheck,
    SubsidyHistoryCheck,
    SubsidyHistoryEntry,
    Teacher,
    TrainingClass,
    Venue,
)
from tests.api.conftest import post_multipart  # noqa: E402

OUTSIDERS = ["nanan-supervisor", "nanan-admin", "nanan-teacher", "nanan-trainee"]
#: Endpoints that are about the caller only, not about anything in a scope.
SELF_ONLY = {("POST", "/api/auth/login"), ("POST", "/api/auth/activate"), ("POST", "/api/auth/logout"),
             ("GET", "/api/auth/me"), ("GET", "/api/consent-text"),
             ("GET", "/api/districts"),  # public administrative divisions, the same for everyone
             ("GET", "/api/signing-key")}  # the deployment's public key, the same for everyone
LISTS = {("GET", "/api/classes"), ("GET", "/api/institutions"), ("GET", "/api/audit"), ("GET", "/api/live/snapshot")}


def _target(y):
    """(url, json body or None, multipart data or None) aimed at the yubei world."""
    lesson = {"starts_at": "2026-03-09T09:00:00+08:00", "ends_at": "2026-03-09T13:00:00+08:00", "mode": "online",
              "content": "theory"}
    csv = f"姓名,身份证号,班级编号\n测试,500112200102150647,{y.class_id}\n".encode()
    return {
        ("POST", "/api/institutions"): ("/api/institutions", {"name": "x", "uscc": "91500112MA5U7XK8QL", "legal_representative": "x",
                                                              "address": "x", "region_code": "cq", "district_id": y.district_id}, None),
        ("POST", "/api/venues"): ("/api/venues", {"name": "v", "address": "a", "datum": "gcj02", "fence_kind": "circle",
                                                  "centre_lat": 29.6, "centre_lon": 106.5, "radius_m": 80,
                                                  "institution_id": y.institution_id}, None),
        ("GET", "/api/institutions/<int:institution_id>/venues"): (f"/api/institutions/{y.institution_id}/venues", None, None),
        ("POST", "/api/teachers"): ("/api/teachers", {"name": "t", "institution_id": y.institution_id}, None),
        ("GET", "/api/institutions/<int:institution_id>/teachers"): (f"/api/institutions/{y.institution_id}/teachers", None, None),
        ("POST", "/api/classes"): ("/api/classes", {"name": "c", "region_code": "cq", "district_id": y.district_id,
                                                    "occupation_code": "2-02-38-04", "level": "mid", "starts_on": "2026-03-01",
                                                    "ends_on": "2026-04-01", "institution_id": y.institution_id}, None),
        ("GET", "/api/classes/<int:class_id>"): (f"/api/classes/{y.class_id}", None, None),
        ("POST", "/api/classes/<int:class_id>/lessons"): (f"/api/classes/{y.class_id}/lessons", {"lessons": [lesson]}, None),
        ("DELETE", "/api/classes/<int:class_id>/lessons/<int:lesson_id>"): (f"/api/classes/{y.class_id}/lessons/{y.lesson_id}", None, None),
        ("GET", "/api/classes/<int:class_id>/plan-check"): (f"/api/classes/{y.class_id}/plan-check", None, None),
        ("POST", "/api/classes/<int:class_id>/file"): (f"/api/classes/{y.class_id}/file", None, None),
        ("POST", "/api/classes/<int:class_id>/amendments"): (f"/api/classes/{y.class_id}/amendments",
                                                             {"reason": "调整", "cancel_lesson_ids": [y.lesson_id]}, None),
        ("POST", "/api/classes/<int:class_id>/enrollments"): (f"/api/classes/{y.class_id}/enrollments",
                                                              {"resident_id": "500112200102150647", "name": "测试"}, None),
        ("GET", "/api/classes/<int:class_id>/enrollments"): (f"/api/classes/{y.class_id}/enrollments", None, None),
        ("POST", "/api/trainees/import"): ("/api/trainees/import", None, {"file": (io.BytesIO(csv), "t.csv"),
                                                                       "class_id": str(y.class_id)}),
        ("POST", "/api/trainees/<int:trainee_id>/consent"): (f"/api/trainees/{y.trainee_id}/consent",
                                                             {"granted": True, "channel": "paper", "text_version": "2026-11"}, None),
        ("POST", "/api/trainees/<int:trainee_id>/face"): (f"/api/trainees/{y.trainee_id}/face", None,
                                                          {"photos": (io.BytesIO(b"\xff\xd8\xff"), "a.jpg")}),
        ("POST", "/api/users"): ("/api/users", {"username": "intruder", "display_name": "x", "role": "admin", "password": "12345678x"}, None),
        ("POST", "/api/users/<int:user_id>/unbind-device"): (f"/api/users/{y.trainee_user_id}/unbind-device", None, None),
        ("POST", "/api/lessons/<int:lesson_id>/challenge"): (f"/api/lessons/{y.lesson_id}/challenge", {"purpose": "check_in"}, None),
        ("POST", "/api/lessons/<int:lesson_id>/events"): (f"/api/lessons/{y.lesson_id}/events", None, {
            "meta": '{"kind": "check_in", "nonce": "%s", "idempotency_key": "walk-key-1", "device": {"device_id": "device-0001-abcdef"}}' % ("n" * 32),
            "frames": (io.BytesIO(b"\xff\xd8\xff"), "f.jpg")}),
        ("POST", "/api/lessons/<int:lesson_id>/heartbeat"): (f"/api/lessons/{y.lesson_id}/heartbeat", {"visible": True}, None),
        ("GET", "/api/lessons/<int:lesson_id>/spot-checks/pending"): (f"/api/lessons/{y.lesson_id}/spot-checks/pending", None, None),
        ("POST", "/api/lessons/<int:lesson_id>/spot-checks"): (f"/api/lessons/{y.lesson_id}/spot-checks", {}, None),
        ("GET", "/api/me/lessons"): (f"/api/me/lessons?class_id={y.class_id}", None, None),
        ("GET", "/api/enrollments/<int:enrollment_id>/ledger"): (f"/api/enrollments/{y.enrollment_id}/ledger", None, None),
        ("GET", "/api/classes/<int:class_id>/review-queue"): (f"/api/classes/{y.class_id}/review-queue", None, None),
        ("POST", "/api/events/<int:event_id>/review"): (f"/api/events/{y.event_id}/review",
                                                        {"decision": "approved", "reason": "看过证据，同意"}, None),
        ("GET", "/api/lessons/<int:lesson_id>/roll"): (f"/api/lessons/{y.lesson_id}/roll", None, None),
        # (tests/api/test_live.py walks this one with an event that has a frame)
        ("GET", "/api/events/<int:event_id>/frames/<int:index>"): (f"/api/events/{y.event_id}/frames/0", None, None),
        ("POST", "/api/classes/<int:class_id>/exports"): (f"/api/classes/{y.class_id}/exports", {"kind": "class"}, None),
        ("POST", "/api/districts/<int:district_id>/exports"): (f"/api/districts/{y.district_id}/exports", None, None),
        # (tests/exports walks these two with a finished job of the other world)
        ("GET", "/api/export-jobs/<int:job_id>"): (f"/api/export-jobs/{y.export_job_id}", None, None),
        ("GET", "/api/export-jobs/<int:job_id>/download"): (f"/api/export-jobs/{y.export_job_id}/download", None, None),
        ("POST", "/api/enrollments/<int:enrollment_id>/assessment"): (f"/api/enrollments/{y.enrollment_id}/assessment",
                                                                      {"theory_score": 90, "practice_score": 90, "passed": True,
                                                                       "assessed_on": "2026-07-01"}, None),
        ("POST", "/api/enrollments/<int:enrollment_id>/training-certificate"): (
            f"/api/enrollments/{y.enrollment_id}/training-certificate", {"number": "JS2026-0001", "issued_on": "2026-07-05"}, None),
        ("POST", "/api/lessons/<int:lesson_id>/group-photos"): (f"/api/lessons/{y.lesson_id}/group-photos", None,
                                                                {"photo": (io.BytesIO(b"\xff\xd8\xff"), "group.jpg")}),
        ("GET", "/api/duties"): (f"/api/duties?class_id={y.class_id}&status=all", None, None),
        ("POST", "/api/duties/<int:duty_id>/done"): (f"/api/duties/{y.duty_id}/done", {"note": "已报送"}, None),
        ("POST", "/api/classes/<int:class_id>/application-received"): (f"/api/classes/{y.class_id}/application-received",
                                                                       {"received_on": "2026-07-01"}, None),
        ("GET", "/api/classes/<int:class_id>/absences"): (f"/api/classes/{y.class_id}/absences", None, None),
        ("GET", "/api/trainees/<int:trainee_id>/subsidy-history"): (f"/api/trainees/{y.trainee_id}/subsidy-history", None, None),
        ("POST", "/api/trainees/<int:trainee_id>/subsidy-history"): (
            f"/api/trainees/{y.trainee_id}/subsidy-history", {"occupation_code": "2-02-38-03", "level": "junior",
                                                             "training_start": "2025-04-01", "source": "hrss"}, None),
        ("POST", "/api/trainees/<int:trainee_id>/subsidy-history/checks"): (
            f"/api/trainees/{y.trainee_id}/subsidy-history/checks", {"checked_on": "2026-05-20", "source": "hrss"}, None),
        # (the walk records this entry of the yubei trainee first: see _history_entry)
        ("POST", "/api/trainees/<int:trainee_id>/subsidy-history/<int:entry_id>/retract"): (
            f"/api/trainees/{y.trainee_id}/subsidy-history/{y.history_entry_id}/retract", {"reason": "录错了"}, None),
    }


def _rule(e):
    prefix = "/api"
    return e.path if e.path.startswith(prefix) else prefix + e.path


def _counts(session):
    return {m.__name__: session.scalar(select(func.count()).select_from(m))
            for m in (Venue, Teacher, TrainingClass, Lesson, Enrollment, Consent, FaceTemplate, ClassAmendment, Event,
                      Heartbeat, SpotCheck, ExportJob, Seal, AssessmentResult, Certificate, GroupPhoto, SubsidyHistoryEntry,
                      SubsidyHistoryCheck)}


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
    targets = _target(worlds["yubei"])
    missing = [(e.method, _rule(e)) for e in REGISTRY
               if (e.method, _rule(e)) not in targets and (e.method, _rule(e)) not in SELF_ONLY | LISTS]
    assert missing == []


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_users_of_another_district_or_institution_get_403_or_404_on_every_route(worlds, login, session, outsider):
    y = worlds["yubei"]
    _history_entry(session, y)
    api = login(outsider)
    before = _counts(session)
    for (method, rule), (url, body, multipart) in _target(y).items():
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
def test_lists_show_an_outsider_nothing_of_the_other_world(worlds, login, outsider):
    api = login(outsider)
    for url in ("/api/classes", "/api/institutions", "/api/audit", "/api/live/snapshot?since=0"):
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
