"""An online lesson's video (issue 18): the institution uploads a real H.264 MP4 (the Hamilton
clip) or links one from its allow-listed media server; enrolled trainees get it with range
requests (or, behind nginx, an X-Accel-Redirect). Bad input is refused with a clear error and
leaves nothing behind: a file that is not a video (415), one too large (413), a codec a phone
cannot play (415), an origin not on the allow-list (422)."""
from __future__ import annotations

import dataclasses
import io

import pytest
from sqlalchemy import func, select

from server.models import AuditEntry, LessonMedia, Role, User
from tests.factories import PASSWORD, post_multipart
from tests.factories import trainee_api as trainee


def media_rows(session) -> int:
    session.rollback()  # a fresh snapshot: the requests committed in sessions of their own
    return session.scalar(select(func.count()).select_from(LessonMedia))


def stored_files(app) -> list:
    root = app.extensions["hourproof_media"].root
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_an_uploaded_lesson_video_is_measured_stored_by_hash_and_served_to_the_enrolled_trainee_in_ranges(app, live, admin, clip, session):
    import hashlib

    resp = post_multipart(admin, f"/api/lessons/{live['online']}/media", {"video": (io.BytesIO(clip), "第1讲.mp4")})
    assert resp.status_code == 201, resp.get_json()
    media = resp.get_json()
    # 275 frames at 29.97 fps, measured from the file (OpenCV), not taken from the client
    assert media["kind"] == "recorded" and media["duration_s"] == pytest.approx(275 / 29.97, abs=0.05)
    assert media["size_bytes"] == len(clip) and media["filename"] == "第1讲.mp4"
    assert media["src"] == f"/api/lessons/{live['online']}/media/file"
    row = session.scalars(select(LessonMedia)).one()
    assert row.sha256 == hashlib.sha256(clip).hexdigest()
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "lesson_media.upload")).one()
    assert audit.after["codec"] == "h264"

    phone = trainee(app)
    assert phone.get(f"/api/lessons/{live['online']}/media").get_json()["src"] == media["src"]
    ranged = phone.get(media["src"], headers={"Range": "bytes=100-1099"})
    assert ranged.status_code == 206
    assert ranged.headers["Content-Range"] == f"bytes 100-1099/{len(clip)}"
    assert ranged.data == clip[100:1100]
    assert ranged.headers["Content-Type"] == "video/mp4" and "private" in ranged.headers["Cache-Control"]
    beyond = phone.get(media["src"], headers={"Range": f"bytes={len(clip) + 10}-"})
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{len(clip)}"
    whole = phone.get(media["src"])
    assert whole.status_code == 200 and whole.data == clip and whole.headers["Accept-Ranges"] == "bytes"
    ranged.close()
    whole.close()


def test_a_trainee_of_another_class_and_a_trainee_uploading_are_refused(app, live, admin, clip, session):
    from server.adapters.passwords import hash_password
    from server.models import Trainee

    post_multipart(admin, f"/api/lessons/{live['online']}/media", {"video": (io.BytesIO(clip), "v.mp4")})
    outsider = Trainee(resident_id="500112199001010017", name="局外人", phone="13800000009")
    session.add(outsider)
    session.flush()
    session.add(User(username="outsider", display_name="局外人", role=Role.trainee, trainee_id=outsider.id,
                     password_hash=hash_password(PASSWORD)))
    session.commit()
    stranger = trainee(app, "outsider", "outsider-phone-0001")
    assert stranger.get(f"/api/lessons/{live['online']}/media").status_code == 404
    assert stranger.get(f"/api/lessons/{live['online']}/media/file").status_code == 404
    resp = post_multipart(trainee(app), f"/api/lessons/{live['online']}/media", {"video": (io.BytesIO(clip), "v.mp4")})
    assert resp.status_code == 403
    assert media_rows(session) == 1


def test_a_file_that_is_not_a_video_is_refused_with_415_and_nothing_is_kept(app, live, admin, faces_dir, session):
    photo = next((faces_dir).rglob("*.jpg")).read_bytes()
    resp = post_multipart(admin, f"/api/lessons/{live['online']}/media", {"video": (io.BytesIO(photo), "lesson.mp4")})
    assert resp.status_code == 415
    assert resp.get_json()["error"]["code"] == "not_a_video"
    assert "MP4" in resp.get_json()["error"]["message"]
    # an MP4 box on a body that does not decode: refused too
    fake = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 5000
    resp = post_multipart(admin, f"/api/lessons/{live['online']}/media", {"video": (io.BytesIO(fake), "lesson.mp4")})
    assert resp.status_code == 415 and resp.get_json()["error"]["code"] == "not_a_video"
    assert media_rows(session) == 0 and stored_files(app) == []


def test_a_video_in_a_codec_phones_cannot_play_is_refused_with_415(app, live, admin, tmp_path, session):
    import cv2
    import numpy as np

    path = tmp_path / "mpeg4.mp4"
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (160, 120))
    for i in range(20):
        out.write(np.full((120, 160, 3), i * 10, dtype=np.uint8))
    out.release()
    resp = post_multipart(admin, f"/api/lessons/{live['online']}/media", {"video": (io.BytesIO(path.read_bytes()), "x.mp4")})
    assert resp.status_code == 415, resp.get_json()
    assert resp.get_json()["error"]["code"] == "unsupported_codec"
    assert "H.264" in resp.get_json()["error"]["message"]
    assert media_rows(session) == 0 and stored_files(app) == []


def test_a_video_over_the_size_limit_is_refused_with_413_and_nothing_is_kept(app, live, admin, clip, session):
    app.config["MEDIA_SETTINGS"] = dataclasses.replace(app.config["MEDIA_SETTINGS"], max_bytes=100 * 1024)
    resp = post_multipart(admin, f"/api/lessons/{live['online']}/media", {"video": (io.BytesIO(clip), "v.mp4")})
    assert resp.status_code == 413, resp.get_json()
    assert resp.get_json()["error"]["code"] == "video_too_large"
    assert media_rows(session) == 0 and stored_files(app) == []


def test_a_link_is_taken_only_from_an_allow_listed_origin_and_a_recorded_one_states_its_length(app, live, admin, session):
    url = f"/api/lessons/{live['online']}/media/link"
    resp = admin.post(url, json={"kind": "recorded", "url": "https://evil.example.com/lecture.mp4", "duration_s": 2700})
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "origin_not_allowed"
    app.config["MEDIA_SETTINGS"] = dataclasses.replace(app.config["MEDIA_SETTINGS"], origins=("https://media.school.cn",))
    # same host over http, or a look-alike host, is not the allowed origin
    for bad in ("http://media.school.cn/a.mp4", "https://media.school.cn.evil.com/a.mp4", "https://media.school.cn:8443/a.mp4"):
        assert admin.post(url, json={"kind": "recorded", "url": bad, "duration_s": 60}).status_code == 422, bad
    resp = admin.post(url, json={"kind": "recorded", "url": "https://media.school.cn/lecture1.m3u8"})
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "duration_required"
    assert media_rows(session) == 0
    resp = admin.post(url, json={"kind": "recorded", "url": "https://media.school.cn/lecture1.m3u8", "duration_s": 2700})
    assert resp.status_code == 201, resp.get_json()
    assert (resp.get_json()["content_type"], resp.get_json()["src"]) == ("application/vnd.apple.mpegurl",
                                                                         "https://media.school.cn/lecture1.m3u8")
    live_stream = admin.post(url, json={"kind": "live", "url": "https://media.school.cn/live/class1.m3u8"})
    assert live_stream.status_code == 201
    # the latest media is the lesson's; the earlier stays on record
    assert trainee(app).get(f"/api/lessons/{live['online']}/media").get_json()["kind"] == "live"
    assert media_rows(session) == 2


def test_behind_nginx_the_app_authorises_and_nginx_sends_the_bytes(app, live, admin, clip):
    app.config["MEDIA_SETTINGS"] = dataclasses.replace(app.config["MEDIA_SETTINGS"], accel_prefix="/_media/")
    import hashlib

    assert post_multipart(admin, f"/api/lessons/{live['online']}/media", {"video": (io.BytesIO(clip), "v.mp4")}).status_code == 201
    sha = hashlib.sha256(clip).hexdigest()
    resp = trainee(app).get(f"/api/lessons/{live['online']}/media/file", headers={"Range": "bytes=0-99"})
    assert resp.status_code == 200 and resp.data == b""
    assert resp.headers["X-Accel-Redirect"] == f"/_media/{sha[:2]}/{sha}"
    assert resp.headers["Content-Type"] == "video/mp4"


def test_an_offline_lesson_takes_no_video(app, live, admin, clip, session):
    resp = post_multipart(admin, f"/api/lessons/{live['offline']}/media", {"video": (io.BytesIO(clip), "v.mp4")})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "not_online"
    assert media_rows(session) == 0


def test_a_trainees_media_carries_the_furthest_point_their_heartbeats_show_so_another_phone_can_go_back_there(
        app, live, admin, clip, session):
    from datetime import timedelta

    from server.models import Heartbeat

    resp = post_multipart(admin, f"/api/lessons/{live['online']}/media", {"video": (io.BytesIO(clip), "v.mp4")})
    assert resp.status_code == 201
    phone = trainee(app)
    assert phone.get(f"/api/lessons/{live['online']}/media").get_json()["furthest_s"] == 0
    start = session.scalars(select(LessonMedia)).one().added_at
    session.add_all(Heartbeat(lesson_id=live["online"], trainee_id=live["trainee"], at=start + timedelta(seconds=i),
                              visible=True, position_s=float(i), playback="playing", rate=1.0) for i in range(6))
    session.commit()
    assert phone.get(f"/api/lessons/{live['online']}/media").get_json()["furthest_s"] == 5.0
    assert "furthest_s" not in admin.get(f"/api/lessons/{live['online']}/media").get_json()
