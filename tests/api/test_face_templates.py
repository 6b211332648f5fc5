"""One face, one identity; template changes are evidence, not edits (real dlib on the real photos
in ../shared/faces, real database).

The swapped-template story: an institution enrols trainee A with Obama's photo, then trainee B
(a ghost, or a stand-in who will attend for A) with the same photo. B's template is stored but
held: B cannot check in by face until 人社 look at both and decide, once.

Why a re-encoded copy and not ex_obama2.jpg for "the same face, another file": the two news photos
of Obama are 0.34 apart, above the strict dedup threshold (0.32: on East Asian faces no impostor
pair is under it, and 16% of different photos of one person are not either). The fraud the check
is for reuses one photo, or photos taken in one sitting; a re-saved JPEG is that.
"""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from server.models import AuditEntry, Enrollment, FaceTemplate, TemplateDecision, Trainee
from server.services import faces
from tests.factories import CachingRecognizer, post_multipart

pytestmark = pytest.mark.slow

OBAMA, OBAMA2, BIDEN = "ex_obama.jpg", "ex_obama2.jpg", "ex_biden.jpg"
SAME_FACE = "与其他学员人脸相似，待人社复核"
CHANGED_FACE = "与该学员原登记人脸差异较大，待人社复核"


@pytest.fixture(scope="module")
def photos(faces_dir) -> dict[str, bytes]:
    from PIL import Image

    folder = faces_dir / "images" / "face_recognition"
    out = {name: (folder / name).read_bytes() for name in (OBAMA, OBAMA2, BIDEN)}
    copy = io.BytesIO()
    Image.open(io.BytesIO(out[OBAMA])).convert("RGB").save(copy, "JPEG", quality=80)
    out["obama_copy.jpg"] = copy.getvalue()
    return out


@pytest.fixture(scope="module")
def caching_recognizer(recognizer):
    """Each photo goes through dlib once for the whole module, however often it is enrolled."""
    return CachingRecognizer(recognizer)


@pytest.fixture
def people(app, worlds, session, caching_recognizer):
    """Trainees A (the world's), B and C in the yubei class, each with paper consent recorded."""
    app.extensions["hourproof_recognizer"] = lambda: caching_recognizer
    y = worlds["yubei"]
    b = Trainee(resident_id="500112200102150647", name="冒名学员乙", phone="13800000011")
    c = Trainee(resident_id="500112199807050827", name="冒名学员丙", phone="13800000012")
    session.add_all([b, c])
    session.flush()
    session.add_all([Enrollment(class_id=y.class_id, trainee_id=b.id), Enrollment(class_id=y.class_id, trainee_id=c.id)])
    session.commit()
    ids = {"A": y.trainee_id, "B": b.id, "C": c.id}
    return ids


def _enrol(api, trainee_id, photos, *names, reason=None):
    data = {"photos": [(io.BytesIO(photos[n]), n) for n in names]}
    if reason:
        data["reason"] = reason
    return post_multipart(api, f"/api/trainees/{trainee_id}/face", data)


def _consent(api, trainee_id, granted=True):
    resp = api.post(f"/api/trainees/{trainee_id}/consent", json={"granted": granted, "channel": "paper", "text_version": "2026-12"})
    assert resp.status_code == 201, resp.get_json()


def _swap(login, people, photos, b_photo):
    """A enrolled with Obama's photo, then B with `b_photo`; returns the institution's Api and B's answer."""
    api = login("yubei-admin")
    for key in ("A", "B"):
        _consent(api, people[key])
    first = _enrol(api, people["A"], photos, OBAMA)
    assert first.status_code == 200 and first.get_json()["status"] == "enrolled", first.get_json()
    return api, _enrol(api, people["B"], photos, b_photo)


@pytest.mark.parametrize("b_photo", [OBAMA, "obama_copy.jpg"])
def test_a_second_trainee_enrolled_with_the_same_photo_is_held_without_naming_the_first(
        login, session, people, photos, b_photo):
    api, resp = _swap(login, people, photos, b_photo)
    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "held" and body["message"].startswith(SAME_FACE)
    # B's own enrolment, and nothing of A: no name, no id, no template.
    assert set(body) == {"template_id", "trainee_id", "model", "model_version", "photos", "replaces_id", "created_at",
                         "status", "message"}
    assert body["trainee_id"] == people["B"] and body["replaces_id"] is None
    assert "yubei trainee" not in resp.get_data(as_text=True)
    a_template = faces.active_template(session, people["A"])
    # B has nothing in force (check-in then fails with no_face_template); the held one is on record.
    assert faces.active_template(session, people["B"]) is None
    held = faces.held_template(session, people["B"])
    assert held is not None and held.id == body["template_id"]
    assert held.hold["why"] == "duplicate"
    assert [(m["template_id"], m["trainee_id"]) for m in held.hold["matches"]] == [(a_template.id, people["A"])]
    assert held.hold["matches"][0]["distance"] < 0.32
    # The institution reads its audit trail: the hold is there, whom it resembles is not.
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "face.held"))
    assert entry is not None and entry.entity_id == held.id and entry.after["trainee_id"] == people["B"]
    assert set(entry.after) == {"trainee_id", "why", "reasons", "matches", "nearest_distance", "previous_distance"}
    assert entry.after["matches"] == 1
    roll = {r["trainee"]["id"]: r for r in api.get(f"/api/classes/{_class_id(session, people)}/enrollments").get_json()}
    assert (roll[people["B"]]["face_enrolled"], roll[people["B"]]["face_held"]) == (False, True)
    assert (roll[people["A"]]["face_enrolled"], roll[people["A"]]["face_held"]) == (True, False)


def _class_id(session, people):
    return session.scalar(select(Enrollment.class_id).where(Enrollment.trainee_id == people["B"]))


def test_a_third_enrolment_of_the_face_while_the_first_hold_waits_is_held_against_both(login, session, people, photos):
    api, resp = _swap(login, people, photos, OBAMA)
    assert resp.status_code == 202
    _consent(api, people["C"])
    third = _enrol(api, people["C"], photos, "obama_copy.jpg")
    assert third.status_code == 202
    held = faces.held_template(session, people["C"])
    assert {m["trainee_id"] for m in held.hold["matches"]} == {people["A"], people["B"]}


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_the_supervisor_sees_both_trainees_and_decides_a_hold_once(app, login, session, people, photos, decision):
    _, resp = _swap(login, people, photos, OBAMA)
    held_id = resp.get_json()["template_id"]
    sup = login("yubei-supervisor")
    listed = sup.get("/api/face-holds")
    assert listed.status_code == 200
    [hold] = listed.get_json()
    assert hold["template_id"] == held_id and hold["why"] == "duplicate" and hold["decidable"]
    assert hold["trainee"]["name"] == "冒名学员乙" and hold["trainee"]["institution"]["name"] == "yubei school"
    [match] = hold["matches"]
    assert match["trainee"]["name"] == "yubei trainee" and match["trainee"]["id"] == people["A"]
    assert match["distance"] < 0.32 and match["status"] == "in_force"
    # Both sides' photos, by hash and where to see them (the same file: one photo, two trainees).
    assert hold["photo_hashes"] == match["photo_hashes"] and len(hold["photos"]) == 1
    seen = sup.get(hold["photos"][0])
    assert seen.status_code == 200 and seen.data == photos[OBAMA]
    assert seen.headers["Cache-Control"] == "private, no-store"
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "evidence.view_enrolment_photo")) is not None

    url = f"/api/face-holds/{held_id}/decision"
    assert sup.post(url, json={"decision": decision, "reason": " "}).status_code == 422
    done = sup.post(url, json={"decision": decision, "reason": "核对身份证与现场照片，确认为不同的人" if decision == "approve"
                               else "与已登记学员为同一张照片，疑似冒名"})
    assert done.status_code == 201, done.get_json()
    again = sup.post(url, json={"decision": "approve", "reason": "再看一次"})
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "already_decided" and "不能再次复核" in again.get_json()["error"]["message"]
    session.rollback()  # end the read snapshot, see what requests wrote
    assert session.scalars(select(TemplateDecision.decision)).all() == [decision]
    active = faces.active_template(session, people["B"])
    assert (active.id if active else None) == (held_id if decision == "approve" else None)
    assert faces.held_template(session, people["B"]) is None
    assert sup.get("/api/face-holds").get_json() == []
    # A rejected face leaves the dedup index; an approved one stays (it is B's face now).
    assert (held_id in app.extensions["hourproof_face_index"]) is (decision == "approve")
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == f"face.hold_{decision}")) is not None


def test_re_enrolling_a_trainee_with_another_persons_face_is_held_and_the_old_face_stays_in_force(
        login, session, people, photos):
    api = login("yubei-admin")
    _consent(api, people["A"])
    first = _enrol(api, people["A"], photos, OBAMA).get_json()["template_id"]
    resp = _enrol(api, people["A"], photos, BIDEN, reason="照片不清楚，重新采集")
    assert resp.status_code == 202, resp.get_json()
    assert resp.get_json()["message"].startswith(CHANGED_FACE) and "原登记的人脸签到" in resp.get_json()["message"]
    assert faces.active_template(session, people["A"]).id == first
    held = faces.held_template(session, people["A"])
    assert held.id == resp.get_json()["template_id"] and held.replaces_id == first
    assert held.hold["why"] == "changed_face" and held.hold["matches"] == []
    assert held.hold["previous_distance"] >= 0.38
    [hold] = login("yubei-supervisor").get("/api/face-holds").get_json()
    assert hold["previous"]["template_id"] == first and hold["previous"]["distance"] == held.hold["previous_distance"]
    assert len(hold["previous"]["photos"]) == 1


def test_a_re_enrolment_of_the_same_face_is_in_force_at_once(login, session, people, photos):
    api = login("yubei-admin")
    _consent(api, people["A"])
    _enrol(api, people["A"], photos, OBAMA)
    again = _enrol(api, people["A"], photos, OBAMA2, reason="发型变化")
    assert again.status_code == 200 and again.get_json()["status"] == "enrolled"
    assert faces.active_template(session, people["A"]).id == again.get_json()["template_id"]


def test_withdrawing_consent_takes_the_trainees_templates_out_of_every_face_index(app, login, session, people, photos):
    from recognition import Template
    from server.services.faceindex import TemplateIndex

    api, resp = _swap(login, people, photos, OBAMA)
    a_row = faces.active_template(session, people["A"])
    a_template = Template.from_bytes(a_row.template)
    index = app.extensions["hourproof_face_index"]
    # Another worker's index, built before the withdrawal and told nothing of it.
    elsewhere = TemplateIndex()
    elsewhere.warm(session)
    assert a_row.id in elsewhere
    session.rollback()

    _consent(api, people["A"], granted=False)
    session.rollback()
    assert session.get(FaceTemplate, a_row.id).erased_at is not None
    assert a_row.id not in index
    for idx in (index, elsewhere):
        hits = idx.search(session, a_template, 5, exclude_trainee=None)
        assert a_row.id not in {h.template_id for h in hits}
    assert a_row.id not in elsewhere  # dropped when the database said it was gone
    # B's held enrolment still shows its reviewer the photo (the same file as A's, erased for A).
    [hold] = login("yubei-supervisor").get("/api/face-holds").get_json()
    assert hold["matches"][0]["status"] == "erased" and hold["matches"][0]["photos"] == []
    assert app.extensions["hourproof_evidence"].exists(hold["photo_hashes"][0])


def test_an_institution_admin_can_neither_list_nor_decide_nor_look_at_holds(login, session, people, photos):
    api, resp = _swap(login, people, photos, OBAMA)
    held_id = resp.get_json()["template_id"]
    for who in ("yubei-admin", "yubei-teacher"):
        other = api if who == "yubei-admin" else login(who)
        assert other.get("/api/face-holds").status_code == 403
        assert other.post(f"/api/face-holds/{held_id}/decision", json={"decision": "approve", "reason": "我们确认过"}).status_code == 403
        assert other.get(f"/api/face-templates/{held_id}/photos/0").status_code == 403
    assert session.scalars(select(TemplateDecision)).all() == []


def test_a_hold_that_resembles_someone_outside_the_supervisors_district_goes_to_the_city(login, session, worlds, people, photos):
    n = worlds["nanan"]
    nanan = login("nanan-admin")
    _consent(nanan, n.trainee_id)
    assert _enrol(nanan, n.trainee_id, photos, OBAMA).status_code == 200
    api = login("yubei-admin")
    _consent(api, people["B"])
    held_id = _enrol(api, people["B"], photos, "obama_copy.jpg").get_json()["template_id"]
    [hold] = login("yubei-supervisor").get("/api/face-holds").get_json()
    assert hold["decidable"] is False
    assert hold["matches"] == [{"visible": False, "distance": hold["matches"][0]["distance"], "district": "nanan"}]
    refused = login("yubei-supervisor").post(f"/api/face-holds/{held_id}/decision", json={"decision": "approve", "reason": "看过"})
    assert refused.status_code == 403 and "市级复核" in refused.get_json()["error"]["message"]
    [seen] = login("city").get("/api/face-holds").get_json()
    assert seen["decidable"] and seen["matches"][0]["trainee"]["name"] == "nanan trainee"
    assert login("city").post(f"/api/face-holds/{held_id}/decision", json={"decision": "reject", "reason": "同一人"}).status_code == 201


def test_the_class_lists_its_recent_template_changes_without_naming_whom_a_face_resembles(login, session, people, photos):
    api, resp = _swap(login, people, photos, OBAMA)
    class_id = _class_id(session, people)
    rows = api.get(f"/api/classes/{class_id}/template-changes").get_json()
    assert [(r["trainee"]["id"], r["status"], r["in_use"]) for r in rows] == [
        (people["B"], "held", False), (people["A"], "in_force", True)]
    assert rows[0]["hold"] == {"why": "duplicate", "reasons": ["duplicate"]} and rows[0]["decision"] is None
    assert "matches" not in resp.get_data(as_text=True) and "yubei trainee" not in str(rows[0])
    later = api.get(f"/api/classes/{class_id}/template-changes?since=2999-01-01T00:00:00%2B08:00").get_json()
    assert later == []
    assert login("yubei-trainee").get(f"/api/classes/{class_id}/template-changes").status_code == 403
