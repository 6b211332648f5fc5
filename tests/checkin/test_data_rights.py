"""A trainee's rights over their face data on the phone (PIPL art. 44-47): what is held and until
when, who viewed it, a copy of their own records with the photos, and each consent withdrawn on its
own; every request recorded."""
from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import select

from server.models import AuditEntry
from tests.factories import Phone, inside_fix, log_in

pytestmark = pytest.mark.slow


def test_a_trainee_sees_what_is_held_who_viewed_it_downloads_a_copy_and_withdraws_each_consent(
        app, live, clip_burst, session):
    phone = Phone(app)
    event = phone.send(live["offline"], clip_burst, location=inside_fix()).get_json()
    assert event["verdict"] == "verified", event["reasons"]
    supervisor = log_in(app, "supervisor")
    assert supervisor.get(f"/api/events/{event['event_id']}/frames/0").status_code == 200

    held = phone.client.get("/api/me/face-data").get_json()
    assert held["photos"]["count"] == len(clip_burst) and held["photos"]["kept_until"]
    assert "复核期结束后删除" in held["photos"]["rule"]
    assert held["templates"]["held"] == 1 and held["templates"]["since"]
    assert [(v["who"], v["what"]) for v in held["views"]] == [("区县人社 supervisor", "查看了签到照片")]
    assert {c["purpose"]: c["state"] for c in held["consents"]} == {"biometric": "granted", "photo_keeping": "none"}
    assert held["requests"][0]["what"] == "查询本人人脸信息"  # this very request, recorded

    copy = phone.client.get("/api/me/face-data/copy")
    assert copy.status_code == 200 and copy.headers["Cache-Control"] == "no-store"
    with zipfile.ZipFile(io.BytesIO(copy.data)) as z:
        records = json.loads(z.read("records.json"))
        photos = [z.read(n) for n in z.namelist() if n.startswith("photos/")]
    assert records["events"][0]["verdict"] == "verified" and len(photos) == len(clip_burst)
    assert all(p in clip_burst for p in photos)  # the JPEGs as sent, opened from their sealed files
    assert [c["purpose"] for c in records["consents"]] == ["biometric"]

    notices = {c["purpose"]: c for c in held["consents"]}
    trainee_id = live["trainee"]
    for purpose, granted in (("photo_keeping", True), ("photo_keeping", False), ("biometric", False)):
        answer = phone.post(f"/api/trainees/{trainee_id}/consent", json={
            "purpose": purpose, "granted": granted, "channel": "phone", "text_version": notices[purpose]["version"]})
        assert answer.status_code == 201, answer.get_json()
    after = phone.client.get("/api/me/face-data").get_json()
    assert after["templates"]["held"] == 0 and after["templates"]["erased"] == 1
    assert {c["purpose"]: c["state"] for c in after["consents"]} == {"biometric": "withdrawn", "photo_keeping": "withdrawn"}
    assert [q["what"] for q in after["requests"][:4]] == ["查询本人人脸信息", "撤回人脸核验同意", "撤回留存签到照片同意",
                                                          "同意留存签到照片"]
    assert all(q["by"] == "本人（手机）" for q in after["requests"])
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("rights.%"))).all()
    assert sorted(actions) == ["rights.access", "rights.access", "rights.copy"]

    # Staff have no "own face data": the page is the trainee's.
    assert supervisor.get("/api/me/face-data").status_code == 403
