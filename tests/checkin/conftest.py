"""A live lesson, a trainee (Lin-Manuel Miranda's real face, enrolled with consent) and real
frames of the Hamilton clip that show him turning right then left."""
from __future__ import annotations

import io
import random
from datetime import UTC, date, datetime, timedelta

import cv2
import numpy as np
import pytest
from PIL import Image

from policies import geofence

PASSWORD = "correct-horse-9"
DEVICE = "phone-miranda-0001"
#: Venue centre as picked on AMap (GCJ-02), in Chongqing.
VENUE_GCJ = (29.6201, 106.5350)
STEPS = ("turn_right", "turn_left")  # what frames 100-165 of the clip show


@pytest.fixture(scope="session")
def recognizer():
    from recognition import DlibRecognizer

    return DlibRecognizer()


@pytest.fixture(scope="session")
def miranda_template(faces_dir, recognizer):
    import recognition

    photo = (faces_dir / "images" / "face_recognition" / "ex_lin-manuel-miranda.png").read_bytes()
    result = recognition.enroll([photo], recognizer)
    assert result.ok, result.reasons
    return result.template


def _jpeg(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=85)
    return out.getvalue()


def clip_jpegs(faces_dir, first: int, last: int, step: int) -> list[bytes]:
    """Frames first..last (every `step`-th) of the Hamilton clip as JPEG, in order."""
    cap = cv2.VideoCapture(str(faces_dir / "video" / "short_hamilton_clip.mp4"))
    out = []
    try:
        i = 0
        while i <= last:
            ok, bgr = cap.read()
            if not ok:
                break
            if i >= first and (i - first) % step == 0:
                out.append(_jpeg(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
            i += 1
    finally:
        cap.release()
    return out


@pytest.fixture(scope="session")
def clip_burst(faces_dir) -> list[bytes]:
    """Frames 100-165 (every 5th) as JPEG: he turns to his right, then back to his left."""
    frames = clip_jpegs(faces_dir, 100, 165, 5)
    assert len(frames) == 14
    return frames


@pytest.fixture(scope="session")
def other_burst(faces_dir) -> list[bytes]:
    """Frames 170-205 (every 5th): later in the clip, different pixels."""
    return clip_jpegs(faces_dir, 170, 205, 5)


def seed_for(steps: tuple[str, ...]) -> int:
    """A seed whose challenge asks for `steps` (the motions the real clip shows)."""
    import recognition

    now = datetime.now(UTC)
    for seed in range(10_000):
        if recognition.new_challenge(random.Random(seed), now).steps == steps:
            return seed
    raise AssertionError(f"no seed gives {steps}")


@pytest.fixture
def live(app, session, miranda_template, recognizer):
    """A class with an offline lesson in progress at a GCJ-02 venue, and an online lesson in
    progress too; Miranda enrolled, consented, face enrolled, phone bound."""
    from server.adapters.passwords import hash_password
    from server.models import (
        City,
        Consent,
        District,
        Enrollment,
        FaceTemplate,
        Institution,
        Lesson,
        LessonContent,
        LessonMode,
        Level,
        Region,
        Role,
        Trainee,
        TrainingClass,
        User,
        Venue,
    )
    from server.services.trainees import CONSENT_SHA256, CONSENT_VERSION

    seed = seed_for(STEPS)
    app.config["CHALLENGE_RNG"] = lambda: random.Random(seed)
    app.config["RECOGNIZER_FACTORY"] = lambda: recognizer
    app.extensions["hourproof_recognizer"] = lambda: recognizer
    app.extensions["hourproof_face_pool"] = None  # face work in-process, with the recognizer above
    now = datetime.now(UTC)
    session.add(Region(code="cq", name="重庆市"))
    city = City(region_code="cq", adcode="500000", name="重庆市")
    session.add(city)
    session.flush()
    d = District(city_id=city.id, adcode="500112", name="渝北区")
    session.add(d)
    session.flush()
    inst = Institution(name="学校", uscc="91500112MA5U7XK8QL", legal_representative="x", address="x", region_code="cq",
                       district_id=d.id)
    session.add(inst)
    session.flush()
    venue = Venue(institution_id=inst.id, name="实训中心", address="x", datum="gcj02", fence_kind="circle",
                  centre_lat=VENUE_GCJ[0], centre_lon=VENUE_GCJ[1], radius_m=120, max_accuracy_m=50)
    session.add(venue)
    cls = TrainingClass(institution_id=inst.id, region_code="cq", district_id=d.id, name="云计算中级",
                        occupation_code="2-02-38-04", level=Level.mid, starts_on=date.today() - timedelta(days=5),
                        ends_on=date.today() + timedelta(days=30))
    session.add(cls)
    session.flush()
    offline = Lesson(class_id=cls.id, starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(hours=3),
                     mode=LessonMode.offline, content=LessonContent.practice, venue_id=venue.id)
    online = Lesson(class_id=cls.id, starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(hours=3),
                    mode=LessonMode.online, content=LessonContent.theory)
    trainee = Trainee(resident_id="500112199503120419", name="林曼努", phone="13800000001")
    other = Trainee(resident_id="500112199807050827", name="罗斯林", phone="13800000004")
    session.add_all([offline, online, trainee, other])
    session.flush()
    enrollment = Enrollment(class_id=cls.id, trainee_id=trainee.id)
    session.add_all([enrollment, Enrollment(class_id=cls.id, trainee_id=other.id)])
    consent = Consent(trainee_id=trainee.id, purpose="biometric", granted=True, text_version=CONSENT_VERSION,
                      text_sha256=CONSENT_SHA256, channel="phone")
    session.add(consent)
    session.flush()
    session.add(FaceTemplate(trainee_id=trainee.id, template=miranda_template.to_bytes(), model=miranda_template.model_name,
                             model_version=miranda_template.model_version, photo_hashes=[], consent_id=consent.id))
    pw = hash_password(PASSWORD)
    session.add_all([
        User(username="miranda", display_name="林曼努", role=Role.trainee, trainee_id=trainee.id, password_hash=pw),
        User(username="rose", display_name="罗斯林", role=Role.trainee, trainee_id=other.id, password_hash=pw),
        User(username="supervisor", display_name="监管", role=Role.district_supervisor, district_id=d.id, password_hash=pw),
        User(username="teacher", display_name="王老师", role=Role.teacher, institution_id=inst.id, password_hash=pw),
    ])
    session.commit()
    return {"class_id": cls.id, "offline": offline.id, "online": online.id, "enrollment": enrollment.id,
            "trainee": trainee.id, "other": other.id, "venue": venue.id, "seed": seed}


def inside_fix(offset_m: float = 0.0, accuracy: float = 10.0) -> dict:
    """A WGS-84 fix (what a phone reports) at the venue centre, moved `offset_m` north."""
    lat, lon = geofence.gcj02_to_wgs84(*VENUE_GCJ)
    return {"lat": lat + offset_m / 111_320.0, "lon": lon, "accuracy_m": accuracy, "datum": "wgs84"}


class Phone:
    """The trainee's phone: logged in, bound, sending bursts the way the phone app (server/web/phone/static/app.js) does."""

    def __init__(self, app, username="miranda", device=DEVICE):
        self.client = app.test_client()
        resp = self.client.post("/api/auth/login", json={"username": username, "password": PASSWORD, "device_id": device})
        assert resp.status_code == 200, resp.get_json()
        self.csrf = resp.get_json()["csrf_token"]
        self.device = device

    def post(self, url, json=None):
        return self.client.post(url, json=json, headers={"X-CSRF-Token": self.csrf})

    def challenge(self, lesson_id, purpose="check_in", spot_check_id=None):
        body = {"purpose": purpose} | ({"spot_check_id": spot_check_id} if spot_check_id else {})
        resp = self.post(f"/api/lessons/{lesson_id}/challenge", json=body)
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    def send(self, lesson_id, frames, *, kind="check_in", nonce=None, key=None, location=None, camera="iPhone 前置摄像头",
             spot_check_id=None, device=None, user_agent=None):
        import json as _json
        import uuid

        from werkzeug.datastructures import FileStorage, MultiDict
        from werkzeug.test import encode_multipart

        if nonce is None:
            nonce = self.challenge(lesson_id, kind, spot_check_id)["nonce"]
        meta = {"kind": kind, "nonce": nonce, "idempotency_key": key or uuid.uuid4().hex,
                "device": {"device_id": device or self.device, "camera_label": camera}
                | ({"user_agent": user_agent} if user_agent else {})}
        if location is not None:
            meta["location"] = location
        if spot_check_id:
            meta["spot_check_id"] = spot_check_id
        fields = MultiDict([("meta", _json.dumps(meta))])
        for i, f in enumerate(frames):
            fields.add("frames", FileStorage(stream=io.BytesIO(f), filename=f"f{i}.jpg", content_type="image/jpeg"))
        boundary, body = encode_multipart(fields)
        return self.client.post(f"/api/lessons/{lesson_id}/events", data=body,
                                content_type=f"multipart/form-data; boundary={boundary}", headers={"X-CSRF-Token": self.csrf})
