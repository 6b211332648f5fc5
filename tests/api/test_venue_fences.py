"""区县人社 approve venue fences: only their district's, once per fence version, never an implausible one."""
from __future__ import annotations

ROOM = {"name": "三号教室", "address": "渝北区", "datum": "gcj02", "fence_kind": "circle", "centre_lat": 29.62,
        "centre_lon": 106.53, "radius_m": 60}


def test_a_supervisor_sees_and_decides_only_the_fences_of_their_own_district(worlds, login):
    venue = login("yubei-admin").post("/api/venues", json={**ROOM, "area_m2": 420}).get_json()
    assert venue["fence_approval"]["status"] == "pending"
    pending = login("yubei-supervisor").get("/api/venue-fences/pending").get_json()
    assert [p["venue"]["id"] for p in pending] == [venue["id"]] and pending[0]["plausible"]
    assert pending[0]["measures"]["allowed_extent_m"] > 60
    assert login("nanan-supervisor").get("/api/venue-fences/pending").get_json() == []
    decision = {"decision": "approve", "reason": "现场核实"}
    assert login("nanan-supervisor").post(f"/api/venues/{venue['id']}/fence-decision", json=decision).status_code == 404
    for other in ("yubei-admin", "city", "admin"):
        assert login(other).post(f"/api/venues/{venue['id']}/fence-decision", json=decision).status_code == 403, other


def test_a_fence_version_is_decided_once_and_a_venue_without_an_area_is_not_approved(worlds, login):
    admin, supervisor = login("yubei-admin"), login("yubei-supervisor")
    venue = admin.post("/api/venues", json=ROOM).get_json()
    url = f"/api/venues/{venue['id']}/fence-decision"
    resp = supervisor.post(url, json={"decision": "approve", "reason": "同意"})
    assert resp.status_code == 422 and "面积" in resp.get_json()["error"]["message"]
    assert supervisor.post(url, json={"decision": "reject", "reason": "未填写场地面积"}).status_code == 201
    resp = supervisor.post(url, json={"decision": "approve", "reason": "改为通过"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "already_decided"
    # The institution gives the area: a new version, which the district decides afresh.
    fence = {k: ROOM[k] for k in ("datum", "fence_kind", "centre_lat", "centre_lon", "radius_m")}
    changed = admin.post(f"/api/venues/{venue['id']}/fence", json={**fence, "area_m2": 420}).get_json()
    assert changed["fence_version"] == 2 and changed["fence_approval"]["status"] == "pending"
    assert supervisor.post(url, json={"decision": "approve", "reason": "面积已补充"}).status_code == 201
    # The same numbers again are not a change.
    same = admin.post(f"/api/venues/{venue['id']}/fence", json={**fence, "area_m2": 420}).get_json()
    assert same["fence_version"] == 2 and same["fence_approval"]["status"] == "approved"
