"""The check-in flow end to end over HTTP, with the real face pipeline on real video frames, a
real geofence in GCJ-02 and a real database (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from server.models import Event
from tests.factories import VENUE_GCJ, Phone, inside_fix

pytestmark = pytest.mark.slow


def _events(session):
    session.rollback()
    return session.scalar(select(func.count()).select_from(Event))


def test_the_enrolled_trainee_inside_the_fence_checks_in_verified_with_its_evidence(app, live, clip_burst, session):
    phone = Phone(app)
    resp = phone.send(live["offline"], clip_burst, location=inside_fix())
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["verdict"] == "verified", body["reasons"]
    assert body["message"].startswith("签到成功")
    assert body["face_distance"] < body["face_threshold"]
    event = session.get(Event, body["event_id"])
    assert event.evidence["fence"]["verdict"] == "inside"
    assert event.evidence["face"]["model_name"].startswith("dlib")
    assert len(event.evidence["frames"]) == len(clip_burst)
    assert event.seq == 1 and len(event.hash) == 64


def test_a_retried_check_in_with_the_same_key_returns_the_first_answer_and_writes_nothing(app, live, clip_burst, session):
    phone = Phone(app)
    challenge = phone.challenge(live["offline"])
    first = phone.send(live["offline"], clip_burst, nonce=challenge["nonce"], key="retry-key-0001", location=inside_fix())
    before = _events(session)
    again = phone.send(live["offline"], clip_burst, nonce=challenge["nonce"], key="retry-key-0001", location=inside_fix())
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["event_id"] == first.get_json()["event_id"]
    assert again.get_json()["replayed"] is True
    assert _events(session) == before


def _at_once(*sends):
    """Run the sends in threads released together; their responses in the same order."""
    import threading

    barrier, out = threading.Barrier(len(sends)), [None] * len(sends)

    def run(i, send):
        barrier.wait()
        out[i] = send()

    threads = [threading.Thread(target=run, args=(i, send)) for i, send in enumerate(sends)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def test_the_same_check_in_sent_twice_at_once_is_stored_once_and_both_get_its_answer(app, live, clip_burst, session):
    # A phone on a flaky network can send its retry while the first request is still being
    # judged: both pass the first idempotency look-up, the unique key decides in the write.
    first, second = Phone(app), Phone(app)
    nonce = first.challenge(live["offline"])["nonce"]
    before = _events(session)
    answers = _at_once(*(lambda p=p: p.send(live["offline"], clip_burst, nonce=nonce, key="twice-at-once",
                                             location=inside_fix()) for p in (first, second)))
    assert sorted(a.status_code for a in answers) == [200, 201], [a.get_json() for a in answers]
    assert answers[0].get_json()["event_id"] == answers[1].get_json()["event_id"]
    assert answers[0].get_json()["verdict"] == answers[1].get_json()["verdict"] == "verified"
    assert _events(session) == before + 1


def test_one_nonce_sent_with_two_keys_at_once_is_claimed_by_exactly_one(app, live, clip_burst, session):
    first, second = Phone(app), Phone(app)
    nonce = first.challenge(live["offline"])["nonce"]
    answers = _at_once(*(lambda p=p, k=k: p.send(live["offline"], clip_burst, nonce=nonce, key=k, location=inside_fix())
                         for p, k in ((first, "nonce-race-a"), (second, "nonce-race-b"))))
    bodies = [a.get_json() for a in answers]
    assert [a.status_code for a in answers] == [201, 201], bodies
    assert sorted(b["verdict"] for b in bodies) == ["rejected", "verified"], bodies
    loser = next(b for b in bodies if b["verdict"] == "rejected")
    # (it also sent the winner's frames, just stored: they are flagged as seen before too)
    assert "nonce_reused" in [r["code"] for r in loser["reasons"]]
    winner = next(b for b in bodies if b["verdict"] == "verified")
    assert "nonce_reused" not in [r["code"] for r in winner["reasons"]]


def test_outside_the_fence_the_trainee_sees_the_distance_and_is_not_verified(app, live, clip_burst):
    resp = Phone(app).send(live["offline"], clip_burst, location=inside_fix(offset_m=900))
    body = resp.get_json()
    assert body["verdict"] == "rejected"
    outside = next(r for r in body["reasons"] if r["code"] == "outside_fence")
    assert 600 < outside["distance_m"] < 900
    assert "米" in body["message"]


def test_coordinates_in_the_wrong_datum_land_hundreds_of_metres_away(app, live, clip_burst):
    # The venue's own GCJ-02 numbers sent as if they were WGS-84: the offset near Chongqing is
    # several hundred metres, more than the fence, so they must not pass.
    resp = Phone(app).send(live["offline"], clip_burst,
                           location=inside_fix() | {"lat": VENUE_GCJ[0], "lon": VENUE_GCJ[1]})
    assert resp.get_json()["verdict"] == "rejected"
    assert any(r["code"] == "outside_fence" for r in resp.get_json()["reasons"])


def test_a_fix_worse_than_the_venue_accepts_asks_to_go_outdoors(app, live, clip_burst):
    body = Phone(app).send(live["offline"], clip_burst, location=inside_fix(accuracy=180)).get_json()
    assert body["verdict"] == "rejected"
    assert any(r["code"] == "too_inaccurate" and "室外" in r["detail"] for r in body["reasons"])


def test_a_fence_edge_fix_is_flagged_for_review_not_verified(app, live, clip_burst):
    body = Phone(app).send(live["offline"], clip_burst, location=inside_fix(offset_m=110, accuracy=30)).get_json()
    assert body["verdict"] == "flagged"
    assert any(r["code"] == "fence_uncertain" for r in body["reasons"])


def test_a_nonce_works_once(app, live, clip_burst):
    phone = Phone(app)
    nonce = phone.challenge(live["offline"])["nonce"]
    assert phone.send(live["offline"], clip_burst, nonce=nonce, location=inside_fix()).get_json()["verdict"] == "verified"
    second = phone.send(live["offline"], clip_burst, nonce=nonce, location=inside_fix()).get_json()
    assert second["verdict"] == "rejected"
    assert "nonce_reused" in [r["code"] for r in second["reasons"]]


def test_another_trainees_nonce_is_refused_as_bad_input_and_writes_nothing(app, live, clip_burst, session):
    rose = Phone(app, "rose", device="phone-rose-000001")
    nonce = rose.challenge(live["offline"])["nonce"]
    before = _events(session)
    resp = Phone(app).send(live["offline"], clip_burst, nonce=nonce, location=inside_fix())
    assert resp.status_code == 422
    assert resp.get_json()["error"]["code"] == "nonce_not_yours" and "重新开始" in resp.get_json()["error"]["message"]
    assert _events(session) == before
    # and rose can still use her own nonce: the refusal did not spend it
    session.rollback()
    assert session.scalar(text("SELECT used_at FROM challenges WHERE nonce = :n"), {"n": nonce}) is None


@pytest.mark.parametrize("case", ["never_issued", "other_lesson", "other_operation"])
def test_a_nonce_not_issued_for_this_lesson_and_operation_is_refused_as_bad_input(app, live, clip_burst, session, case):
    phone = Phone(app)
    nonce = {"never_issued": lambda: "f" * 32,
             "other_lesson": lambda: phone.challenge(live["online"])["nonce"],
             "other_operation": lambda: phone.challenge(live["offline"], "check_out")["nonce"]}[case]()
    before = _events(session)
    resp = phone.send(live["offline"], clip_burst, nonce=nonce, location=inside_fix())
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "nonce_invalid", resp.get_json()
    assert _events(session) == before


def test_a_challenge_expires_about_90_seconds_after_it_is_issued(app, live):
    from datetime import datetime

    body = Phone(app).challenge(live["offline"])
    life = datetime.fromisoformat(body["expires_at"]) - datetime.fromisoformat(body["issued_at"])
    assert life.total_seconds() == 90


@pytest.mark.parametrize("bad", [b"\x00garbage" * 10, b"", b"GIF89a" + b"\x00" * 40, b"%PDF-1.7 not a frame"],
                         ids=["garbage", "empty", "gif", "pdf"])
def test_a_frame_that_is_not_a_jpeg_png_or_webp_image_is_refused_and_writes_nothing(app, live, clip_burst, session, bad):
    before = _events(session)
    frames = clip_burst[:6] + [bad] + clip_burst[6:8]
    resp = Phone(app).send(live["offline"], frames, location=inside_fix())
    assert resp.status_code == 415, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == "unsupported_frame_type" and error["frames"] == [7] and "第 7 帧" in error["message"]
    assert _events(session) == before


def test_a_png_or_webp_burst_is_judged_like_a_jpeg_one(app, live, clip_burst):
    import io

    from PIL import Image

    def recode(data, fmt):
        out = io.BytesIO()
        Image.open(io.BytesIO(data)).save(out, fmt)
        return out.getvalue()

    frames = [recode(f, "PNG") for f in clip_burst[:7]] + [recode(f, "WEBP") for f in clip_burst[7:]]
    body = Phone(app).send(live["offline"], frames, location=inside_fix()).get_json()
    assert body["verdict"] == "verified", body


def test_an_expired_challenge_is_refused(app, live, clip_burst, session):
    from datetime import datetime, timedelta

    phone = Phone(app)
    nonce = phone.challenge(live["offline"])["nonce"]
    session.execute(text("UPDATE challenges SET expires_at = :t WHERE nonce = :n"),
                    {"t": (datetime.now(UTC) - timedelta(seconds=1)).replace(tzinfo=None)
                     if session.get_bind().dialect.name == "sqlite" else datetime.now(UTC) - timedelta(seconds=1),
                     "n": nonce})
    session.commit()
    body = phone.send(live["offline"], clip_burst, nonce=nonce, location=inside_fix()).get_json()
    assert "nonce_expired" in [r["code"] for r in body["reasons"]] and body["verdict"] == "rejected"


def test_a_burst_of_one_still_photo_repeated_is_rejected(app, live, faces_dir):
    still = (faces_dir / "images" / "face_recognition" / "ex_lin-manuel-miranda.png").read_bytes()
    body = Phone(app).send(live["offline"], [still] * 8, location=inside_fix()).get_json()
    assert body["verdict"] == "rejected"


def test_someone_elses_face_making_the_right_motions_is_rejected(app, live, clip_burst, session, faces_dir, recognizer):
    import recognition
    from server.models import FaceTemplate

    obama = recognition.enroll([(faces_dir / "images" / "face_recognition" / "ex_obama.jpg").read_bytes()], recognizer).template
    row = session.scalar(select(FaceTemplate).where(FaceTemplate.trainee_id == live["trainee"]))
    # A second, newer template (of somebody else) becomes the active one.
    session.add(FaceTemplate(trainee_id=live["trainee"], template=obama.to_bytes(), model=obama.model_name,
                             model_version=obama.model_version, photo_hashes=[], consent_id=row.consent_id,
                             replaces_id=row.id, reason="test"))
    session.commit()
    body = Phone(app).send(live["offline"], clip_burst, location=inside_fix()).get_json()
    assert body["verdict"] == "rejected"


def test_frames_sent_before_are_flagged_as_a_replay(app, live, clip_burst):
    phone = Phone(app)
    assert phone.send(live["offline"], clip_burst, location=inside_fix()).get_json()["verdict"] == "verified"
    again = phone.send(live["offline"], clip_burst, kind="check_out", location=inside_fix()).get_json()
    assert again["verdict"] == "flagged"
    assert "frames_seen_before" in [r["code"] for r in again["reasons"]]


def test_a_virtual_camera_is_flagged(app, live, clip_burst):
    body = Phone(app).send(live["offline"], clip_burst, location=inside_fix(), camera="OBS Virtual Camera").get_json()
    assert body["verdict"] == "flagged" and "virtual_camera" in [r["code"] for r in body["reasons"]]


@pytest.mark.parametrize("label, virtual", [
    ("OBS Virtual Camera", True), ("OBS-Camera", True), ("ManyCam Virtual Webcam", True), ("DroidCam Source 3", True),
    ("e2eSoft iVCam", True), ("Snap Camera", True), ("XSplit VCam", True), ("Dummy video device (0x0000) v4l2loopback", True),
    ("iPhone 前置摄像头", False), ("camera2 1, facing front", False), ("Facing front:1", False),
    ("HD Pro Webcam C920 (046d:082d)", False), ("Integrated Camera (04f2:b6dd)", False), ("Jobs Room Camera", False),
    ("前置双摄", False),
])
def test_virtual_camera_labels_are_told_from_real_phone_and_laptop_cameras(label, virtual):
    from server.services.checkin import VIRTUAL_CAMERA

    assert bool(VIRTUAL_CAMERA.search(label)) is virtual


def test_a_device_other_than_the_bound_phone_is_rejected(app, live, clip_burst):
    body = Phone(app).send(live["offline"], clip_burst, location=inside_fix(), device="someone-elses-phone").get_json()
    assert body["verdict"] == "rejected" and "device_mismatch" in [r["code"] for r in body["reasons"]]


def test_an_error_in_the_face_backend_makes_the_event_unverified_never_verified(app, live, clip_burst):
    class Broken:
        model_name, model_version = "dlib_face_recognition_resnet_model_v1", "0.3.0"

        def detect(self, *a, **k):
            raise RuntimeError("dlib crashed")

        landmarks = encode = detect

    app.extensions["hourproof_recognizer"] = lambda: Broken()
    body = Phone(app).send(live["offline"], clip_burst, location=inside_fix()).get_json()
    assert body["verdict"] == "rejected"
    assert "liveness_error" in [r["code"] for r in body["reasons"]], body["reasons"]


def _refuse_event_inserts(engine):
    """Every INSERT into events fails as a lost connection would, until the returned undo runs."""
    from sqlalchemy import event as sa_event
    from sqlalchemy.exc import OperationalError

    def refuse(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO EVENTS"):
            raise OperationalError(statement, parameters, ConnectionError("server closed the connection unexpectedly"))

    sa_event.listen(engine, "before_cursor_execute", refuse)
    return lambda: sa_event.remove(engine, "before_cursor_execute", refuse)


def test_a_check_in_whose_write_fails_answers_503_writes_nothing_and_its_retry_is_stored_once(app, live, clip_burst, session):
    phone = Phone(app)
    nonce = phone.challenge(live["offline"])["nonce"]
    before = _events(session)
    undo = _refuse_event_inserts(app.extensions["hourproof_db"].engine)
    try:
        resp = phone.send(live["offline"], clip_burst, nonce=nonce, key="retry-after-503", location=inside_fix())
    finally:
        undo()
    assert resp.status_code == 503, resp.get_json()
    assert resp.get_json()["error"]["code"] == "database_unavailable" and "未保存" in resp.get_json()["error"]["message"]
    assert _events(session) == before
    # nothing of the failed attempt is left: the nonce is unspent, no fingerprint was kept
    assert session.scalar(text("SELECT used_at FROM challenges WHERE nonce = :n"), {"n": nonce}) is None
    assert session.scalar(text("SELECT count(*) FROM frame_fingerprints")) == 0
    session.rollback()
    # the phone sends the very same request again (same nonce, same key): stored once, verified
    retry = phone.send(live["offline"], clip_burst, nonce=nonce, key="retry-after-503", location=inside_fix())
    assert retry.status_code == 201 and retry.get_json()["verdict"] == "verified", retry.get_json()
    again = phone.send(live["offline"], clip_burst, nonce=nonce, key="retry-after-503", location=inside_fix())
    assert again.status_code == 200 and again.get_json()["event_id"] == retry.get_json()["event_id"]
    assert _events(session) == before + 1


def test_a_database_error_inside_a_check_answers_503_instead_of_flagging_an_event_it_cannot_store(app, live, clip_burst,
                                                                                                  session, monkeypatch):
    # On PostgreSQL any failed statement aborts the transaction: the event could not be stored
    # after it, so the check must not swallow the error as a check_error.
    from server.services import checkin

    def broken(session, *args):
        session.execute(text("SELECT no_such_column FROM events"))

    monkeypatch.setattr(checkin, "_check_shared_device", broken)
    before = _events(session)
    resp = Phone(app).send(live["offline"], clip_burst, location=inside_fix())
    assert resp.status_code == 503, resp.get_json()
    # SQLite calls a missing column an OperationalError, PostgreSQL a ProgrammingError
    assert resp.get_json()["error"]["code"] in ("database_unavailable", "database_error")
    assert _events(session) == before


def test_a_postgresql_server_that_drops_every_connection_during_the_face_work_answers_503_then_recovers(
        app, live, clip_burst, session, recognizer, test_db_url):
    if not test_db_url.startswith("postgresql"):
        pytest.skip("a server that drops its connections is a PostgreSQL matter; SQLite has none")
    from sqlalchemy import create_engine
    from sqlalchemy import event as sa_event

    # The app's own connections, and only those (other tests' and the harness's must live): its
    # pools are emptied, then every connection they open is noted by its server process id.
    handle = app.extensions["hourproof_db"]
    app_pids: set[int] = set()
    for engine in (handle.engine, handle.read_engine):
        engine.dispose()
        sa_event.listen(engine, "connect", lambda dbapi_conn, record: app_pids.add(dbapi_conn.info.backend_pid))
    killed: list[int] = []

    class DropsTheDatabase:
        """The real recognizer; on its first call the server terminates every connection of the
        app, as in a PostgreSQL restart (the app holds none in use during the face work)."""

        def __getattr__(self, name):
            return getattr(recognizer, name)

        def detect(self, *a, **k):
            if not killed:
                admin = create_engine(test_db_url)
                with admin.connect() as conn:
                    killed.append(sum(conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                                        "WHERE pid = ANY(:pids)"), {"pids": list(app_pids)}).scalars()))
                admin.dispose()
            return recognizer.detect(*a, **k)

    phone = Phone(app)
    nonce = phone.challenge(live["offline"])["nonce"]
    session.close()
    app.extensions["hourproof_recognizer"] = lambda: DropsTheDatabase()
    resp = phone.send(live["offline"], clip_burst, nonce=nonce, key="pg-restart", location=inside_fix())
    assert killed and killed[0] >= 1
    assert resp.status_code == 503, resp.get_json()
    app.extensions["hourproof_recognizer"] = lambda: recognizer
    # The phone retries a 5xx with the same request. Each of the app's two pools (the request
    # session's and the log-in check's autocommit reads) may spend one more failed request
    # finding its connections dead before it opens new ones.
    answers = []
    while len(answers) < 3 and (not answers or answers[-1].status_code == 503):
        answers.append(phone.send(live["offline"], clip_burst, nonce=nonce, key="pg-restart", location=inside_fix()))
    assert answers[-1].status_code == 201 and answers[-1].get_json()["verdict"] == "verified", \
        [a.status_code for a in answers]
    for _ in range(2):  # the test's own session held a killed connection too
        try:
            stored = _events(session)
            break
        except DBAPIError:
            session.rollback()
    assert stored == 1  # the seed has no events: only the retry's, once


def test_a_missing_location_for_an_offline_lesson_is_rejected_with_what_to_do(app, live, clip_burst):
    body = Phone(app).send(live["offline"], clip_burst).get_json()
    assert body["verdict"] == "rejected"
    assert any(r["code"] == "no_location" and "允许" in r["detail"] for r in body["reasons"])


@pytest.mark.parametrize("meta_change, status", [
    ({"kind": "teleport"}, 422),
    ({"location": {"lat": float("nan"), "lon": 106.5, "accuracy_m": 5}}, 400),
    ({"location": {"lat": 95, "lon": 106.5, "accuracy_m": 5}}, 422),
    ({"location": {"lat": 29.6, "lon": 106.5, "accuracy_m": -3}}, 422),
    ({"location": {"lat": 29.6, "lon": 106.5, "accuracy_m": 10**7}}, 422),
    ({"idempotency_key": "no spaces allowed!"}, 422),
    ({"nonce": "short"}, 422),
])
def test_bad_check_in_input_gets_a_4xx_and_writes_nothing(app, live, clip_burst, session, meta_change, status):
    import io
    import json as _json

    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.test import encode_multipart

    phone = Phone(app)
    meta = {"kind": "check_in", "nonce": "x" * 32, "idempotency_key": "abcdefgh1", "device": {"device_id": phone.device}}
    meta.update(meta_change)
    raw = _json.dumps(meta, allow_nan=True)
    fields = MultiDict([("meta", raw)] + [("frames", FileStorage(io.BytesIO(f), "f.jpg")) for f in clip_burst[:5]])
    boundary, body = encode_multipart(fields)
    before = _events(session)
    resp = phone.client.post(f"/api/lessons/{live['offline']}/events", data=body,
                             content_type=f"multipart/form-data; boundary={boundary}", headers={"X-CSRF-Token": phone.csrf})
    assert resp.status_code == status, resp.get_json()
    assert _events(session) == before


def test_too_few_frames_are_refused_before_any_face_work(app, live, clip_burst, session):
    before = _events(session)
    resp = Phone(app).send(live["offline"], clip_burst[:2], location=inside_fix())
    assert resp.status_code == 422 and "帧" in resp.get_json()["error"]["message"]
    assert _events(session) == before


def test_a_lesson_of_a_class_the_trainee_is_not_in_is_not_found(app, live, clip_burst, session):
    from server.models import Enrollment

    session.execute(Enrollment.__table__.delete().where(Enrollment.trainee_id == live["trainee"]))
    session.commit()
    resp = Phone(app).post(f"/api/lessons/{live['offline']}/challenge", json={"purpose": "check_in"})
    assert resp.status_code == 404


def test_events_cannot_be_updated_or_deleted_in_the_database(app, live, clip_burst, session):
    event_id = Phone(app).send(live["offline"], clip_burst, location=inside_fix()).get_json()["event_id"]
    session.rollback()
    with pytest.raises(DBAPIError):
        session.execute(text("UPDATE events SET verdict = 'verified' WHERE id = :i"), {"i": event_id})
    session.rollback()
    with pytest.raises(DBAPIError):
        session.execute(text("DELETE FROM events WHERE id = :i"), {"i": event_id})
    session.rollback()


def test_one_phone_checking_in_two_trainees_in_a_lesson_is_flagged(app, live, clip_burst, session):
    from sqlalchemy import select as _select

    from server.models import User

    # Rose's account is bound to Miranda's phone (a friend "helping"): the second trainee's
    # check-in from that device is a fraud signal.
    rose = session.scalar(_select(User).where(User.username == "rose"))
    rose.device_id = "phone-miranda-0001"
    session.commit()
    assert Phone(app).send(live["offline"], clip_burst, location=inside_fix()).get_json()["verdict"] == "verified"
    body = Phone(app, "rose", device="phone-miranda-0001").send(live["offline"], clip_burst[:8], location=inside_fix()).get_json()
    assert "shared_device" in [r["code"] for r in body["reasons"]]
    assert body["verdict"] != "verified"


def test_a_fix_reported_with_accuracy_exactly_zero_is_flagged_as_suspicious(app, live, clip_burst):
    body = Phone(app).send(live["offline"], clip_burst, location=inside_fix(accuracy=0)).get_json()
    assert body["verdict"] == "flagged"
    assert "accuracy_zero" in [r["code"] for r in body["reasons"]]


def test_the_same_fix_to_the_last_digit_as_the_previous_check_in_is_flagged_as_replayed(app, live, clip_burst):
    phone = Phone(app)
    fix = inside_fix()
    first = phone.send(live["offline"], clip_burst, location=fix).get_json()
    assert "replayed_fix" not in {r["code"] for r in first["reasons"]}
    second = phone.send(live["offline"], clip_burst, kind="check_out", location=fix).get_json()
    assert "replayed_fix" in {r["code"] for r in second["reasons"]}
    assert second["verdict"] != "verified"


def test_a_fix_kilometres_from_the_previous_one_minutes_later_is_flagged_as_impossible_travel(app, live, clip_burst):
    phone = Phone(app)
    phone.send(live["offline"], clip_burst, location=inside_fix(offset_m=50_000))  # 50 km north: rejected, but a fix
    second = phone.send(live["offline"], clip_burst, location=inside_fix()).get_json()
    assert "impossible_travel" in {r["code"] for r in second["reasons"]}, second["reasons"]


def test_the_phones_fix_time_and_browser_are_kept_as_evidence_beside_the_servers_time(app, live, clip_burst, session):
    from datetime import datetime, timedelta

    phone = Phone(app)
    fix_at = datetime.now(UTC) - timedelta(seconds=90)  # taken before the challenge, within the allowed age
    location = inside_fix() | {"fix_at": fix_at.isoformat().replace("+00:00", "Z")}
    agent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) MicroMessenger/8.0.49"
    body = phone.send(live["offline"], clip_burst, location=location, user_agent=agent).get_json()
    assert body["verdict"] == "verified", body["reasons"]  # older than max_fix_age_s: tests/redteam
    session.rollback()
    evidence = session.get(Event, body["event_id"]).evidence
    assert datetime.fromisoformat(evidence["location"]["fix_at"]) == fix_at
    assert 90 <= evidence["location"]["fix_age_s"] < 150
    assert evidence["device"]["user_agent"] == agent


def test_a_fix_time_without_a_time_zone_is_refused_as_bad_input(app, live, clip_burst, session):
    before = _events(session)
    resp = Phone(app).send(live["offline"], clip_burst, location=inside_fix() | {"fix_at": "2026-11-24T10:00:00"})
    assert resp.status_code == 422 and _events(session) == before
