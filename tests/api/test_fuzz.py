"""Schema-driven fuzzing of the management API: valid bodies with fields mutated into hostile
values, and raw garbage, for every JSON endpoint, on SQLite and PostgreSQL. No 5xx, ever."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.api.framework import REGISTRY
from tests.factories import api_rule, fuzz_values, route_targets

#: Hostile values and arbitrary JSON (tests/checkin/test_fuzz_checkin.py draws the same).
VALUES = fuzz_values()


def _json_endpoints(worlds):
    y = worlds["yubei"]
    targets = route_targets(y)
    out = []
    for e in REGISTRY:
        key = (e.method, api_rule(e))
        if e.method == "POST" and e.body is not None and key in targets and targets[key][1] is not None:
            out.append((targets[key][0], targets[key][1]))
    # The public endpoints and the ones without a ready example body.
    out.append(("/api/auth/login", {"username": "yubei-admin", "password": "x" * 10}))
    out.append(("/api/auth/activate", {"username": "13800000000", "activation_code": "12345678",
                                       "new_password": "abcdefgh1", "device_id": "device-12345"}))
    return out


FUZZ = settings(max_examples=250, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@FUZZ
@given(data=st.data())
def test_mutated_bodies_never_cause_a_server_error(worlds, login, data):
    api = _cached_login(login)
    endpoints = _json_endpoints(worlds)
    url, base = data.draw(st.sampled_from(endpoints))
    body = dict(base)
    keys = list(body) + ["unexpected_field"]
    for key in data.draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3, unique=True)):
        body[key] = data.draw(VALUES)
    if data.draw(st.booleans()):
        body.pop(data.draw(st.sampled_from(list(body))), None)
    resp = api.post(url, json=body)
    sent = json.dumps(body, ensure_ascii=False)[:300]
    assert resp.status_code < 500, f"{url} {sent} -> {resp.status_code} {resp.get_data(as_text=True)[:300]}"


@FUZZ
@given(data=st.data())
def test_raw_garbage_never_causes_a_server_error(worlds, login, data):
    api = _cached_login(login)
    url, _ = data.draw(st.sampled_from(_json_endpoints(worlds)))
    raw = data.draw(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
    ctype = data.draw(st.sampled_from(["application/json", "text/plain", "application/json; charset=gbk", "multipart/form-data"]))
    resp = api.client.post(url, data=raw, content_type=ctype, headers={"X-CSRF-Token": api.csrf})
    assert resp.status_code < 500, f"{url} {raw[:80]!r} {ctype} -> {resp.status_code}"


@FUZZ
@given(class_id=st.integers(min_value=-5, max_value=2**70), path=st.sampled_from(
    ["/api/classes/{}", "/api/classes/{}/plan-check", "/api/classes/{}/enrollments", "/api/institutions/{}/venues"]))
def test_any_id_in_a_url_never_causes_a_server_error(worlds, login, class_id, path):
    resp = _cached_login(login).get(path.format(class_id))
    assert resp.status_code < 500


_LOGINS: dict[int, object] = {}


def _cached_login(login):
    # One log-in per test function run (hypothesis calls the body many times with the same fixtures).
    key = id(login)
    if key not in _LOGINS:
        _LOGINS.clear()
        _LOGINS[key] = login("admin")  # reaches every endpoint; bodies carry institution_id
    return _LOGINS[key]
