"""Fuzzing the check-in endpoint: mutated metadata and hostile frames never cause a 5xx, and a
request that is refused (4xx) writes no event."""
from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from server.models import Event
from tests.factories import Phone, fuzz_values, inside_fix

pytestmark = pytest.mark.slow

#: Hostile values and arbitrary JSON, as tests/api/test_fuzz.py draws them.
VALUES = fuzz_values()
FRAMES = st.sampled_from(["clip", "garbage", "empty", "truncated", "one", "many"])


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_check_ins_never_cause_a_server_error_and_refusals_write_nothing(app, live, clip_burst, session, data):
    app.config["CHALLENGES_PER_MINUTE"] = 10_000  # sixty mutated check-ins within a minute, one trainee
    phone = _phone(app)
    nonce = phone.challenge(live["offline"])["nonce"]
    meta = {"kind": "check_in", "nonce": nonce, "idempotency_key": data.draw(st.text("abcdef0123456789", min_size=8, max_size=12)),
            "device": {"device_id": phone.device, "camera_label": "前置"}, "location": inside_fix()}
    keys = ["kind", "nonce", "idempotency_key", "device", "location", "spot_check_id", "frame_times", "x"]
    for key in data.draw(st.lists(st.sampled_from(keys), max_size=2, unique=True)):
        meta[key] = data.draw(VALUES)
    if data.draw(st.booleans()):
        meta["location"] = {**inside_fix(), data.draw(st.sampled_from(["lat", "lon", "accuracy_m", "datum"])): data.draw(VALUES)}
    kind = data.draw(FRAMES)
    frames = {"clip": clip_burst[:6], "garbage": [b"\x00garbage" * 10] * 6, "empty": [b""] * 6,
              "truncated": [f[: len(f) // 3] for f in clip_burst[:6]], "one": clip_burst[:1], "many": clip_burst * 3}[kind]
    fields = MultiDict([("meta", json.dumps(meta, allow_nan=True))])
    for i, f in enumerate(frames):
        fields.add("frames", FileStorage(io.BytesIO(f), f"f{i}.jpg"))
    boundary, body = encode_multipart(fields)
    session.rollback()
    before = session.scalar(select(func.count()).select_from(Event))
    resp = phone.client.post(f"/api/lessons/{live['offline']}/events", data=body,
                             content_type=f"multipart/form-data; boundary={boundary}", headers={"X-CSRF-Token": phone.csrf})
    assert resp.status_code < 500, (resp.status_code, resp.get_data(as_text=True)[:300])
    session.rollback()
    after = session.scalar(select(func.count()).select_from(Event))
    if resp.status_code >= 400:
        assert after == before
    else:
        assert resp.get_json()["verdict"] in ("verified", "rejected", "flagged")
        assert after in (before, before + 1)  # 200 = a replay of an earlier key, 201 = a new event


_PHONES: dict[int, Phone] = {}


def _phone(app) -> Phone:
    if id(app) not in _PHONES:
        _PHONES.clear()
        _PHONES[id(app)] = Phone(app)
    return _PHONES[id(app)]
