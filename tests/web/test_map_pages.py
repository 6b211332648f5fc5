"""The map under fences and fixes is a deployment setting: a tile URL template and its datum. Set,
/live loads Leaflet and the map script and its CSP lets images come from the tile server's
origins only; unset, the page loads no map and allows no other origin (the plan drawing stays).
The map itself, in a real Chromium on a local tile server: tests/web/test_map_browser.py."""
from __future__ import annotations

import pytest

from server.config import MapSettings, map_settings

AMAP = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"


def test_a_tile_source_is_a_url_template_with_its_datum_and_every_origin_it_loads_from():
    assert map_settings({}) == MapSettings() and MapSettings().page_config() is None and MapSettings().origins == ()
    amap = map_settings({"HOURPROOF_MAP_TILES": AMAP, "HOURPROOF_MAP_DATUM": "GCJ02", "HOURPROOF_MAP_SUBDOMAINS": "1,2,3,4",
                         "HOURPROOF_MAP_ATTRIBUTION": "© 高德地图"})
    assert amap.datum == "gcj02" and amap.subdomains == ("1", "2", "3", "4")
    assert amap.origins == tuple(f"https://webrd0{n}.is.autonavi.com" for n in "1234")
    assert amap.page_config() == {"tiles": AMAP, "labels": None, "datum": "gcj02", "subdomains": ["1", "2", "3", "4"],
                                  "attribution": "© 高德地图", "max_zoom": 18}
    tianditu = map_settings({"HOURPROOF_MAP_TILES": "https://t{s}.tianditu.gov.cn/vec_w/wmts?TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=k",
                             "HOURPROOF_MAP_LABELS": "https://t{s}.tianditu.gov.cn/cva_w/wmts?TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=k",
                             "HOURPROOF_MAP_DATUM": "wgs84", "HOURPROOF_MAP_SUBDOMAINS": "0,1"})
    assert tianditu.origins == ("https://t0.tianditu.gov.cn", "https://t1.tianditu.gov.cn")
    local = map_settings({"HOURPROOF_MAP_TILES": "http://127.0.0.1:8090/{z}/{x}/{-y}.png", "HOURPROOF_MAP_DATUM": "gcj02"})
    assert local.origins == ("http://127.0.0.1:8090",)


@pytest.mark.parametrize("env, message", [
    ({"HOURPROOF_MAP_TILES": AMAP, "HOURPROOF_MAP_SUBDOMAINS": "1"}, "HOURPROOF_MAP_DATUM must be wgs84 or gcj02"),
    ({"HOURPROOF_MAP_TILES": AMAP, "HOURPROOF_MAP_DATUM": "bd09", "HOURPROOF_MAP_SUBDOMAINS": "1"}, "must be wgs84 or gcj02"),
    ({"HOURPROOF_MAP_TILES": AMAP, "HOURPROOF_MAP_DATUM": "wgs84", "HOURPROOF_MAP_SUBDOMAINS": "1"}, "are gcj02"),
    ({"HOURPROOF_MAP_TILES": AMAP, "HOURPROOF_MAP_DATUM": "gcj02"}, "set HOURPROOF_MAP_SUBDOMAINS"),
    ({"HOURPROOF_MAP_TILES": "http://tiles.example.cn/{z}/{x}/{y}.png", "HOURPROOF_MAP_DATUM": "wgs84"}, "not an https origin"),
    ({"HOURPROOF_MAP_TILES": "https://tiles.example.cn/{x}/{y}.png", "HOURPROOF_MAP_DATUM": "wgs84"}, "with {z}, {x} and {y}"),
])
def test_a_tile_source_without_its_datum_or_in_the_wrong_one_or_not_over_https_is_refused_at_start_up(env, message):
    with pytest.raises(ValueError, match=message):
        map_settings(env)


def test_without_a_tile_source_the_live_page_loads_no_map_and_allows_no_other_origin(worlds, login):
    resp = login("yubei-supervisor").get("/live")
    html = resp.get_data(as_text=True)
    assert "leaflet" not in html and 'id="roll-map"' not in html and '<script type="application/json" id="map-config">null<' in html
    assert "img-src 'self' data: blob:;" in resp.headers["Content-Security-Policy"]


def test_with_a_tile_source_the_live_page_loads_leaflet_and_lets_images_come_from_the_tile_origins_only(app, worlds, login):
    app.config["MAP_SETTINGS"] = map_settings({"HOURPROOF_MAP_TILES": AMAP, "HOURPROOF_MAP_DATUM": "gcj02",
                                               "HOURPROOF_MAP_SUBDOMAINS": "1,2"})
    resp = login("yubei-supervisor").get("/live")
    html = resp.get_data(as_text=True)
    assert "/vendor/leaflet.js" in html and "/vendor/leaflet.css" in html and 'id="roll-map"' in html
    csp = resp.headers["Content-Security-Policy"]
    assert "img-src 'self' data: blob: https://webrd01.is.autonavi.com https://webrd02.is.autonavi.com;" in csp
    assert "connect-src 'self';" in csp and "script-src 'self';" in csp  # tiles are images, nothing more
    vendored = login("yubei-supervisor").get("/vendor/leaflet.js")
    try:
        assert vendored.status_code == 200 and b"Leaflet 1.9.4" in vendored.get_data()[:200]
    finally:
        vendored.close()


def test_a_pending_fence_comes_with_its_districts_venues_within_a_kilometre_and_no_other_districts(worlds, login):
    from policies import geofence

    # 330 m north of the yubei venue (GCJ-02 29.6, 106.5), entered in BD-09 as Baidu's picker gives it.
    near = geofence.convert(29.603, 106.5, "gcj02", "bd09")
    room = {"name": "百度坐标教室", "address": "渝北区", "datum": "bd09", "fence_kind": "circle", "centre_lat": near[0],
            "centre_lon": near[1], "radius_m": 60, "area_m2": 420}
    mine = login("yubei-admin").post("/api/venues", json=room).get_json()
    # Another district's venue on the same spot is none of this supervisor's business.
    login("nanan-admin").post("/api/venues", json={**room, "name": "南岸的教室"})
    far = login("yubei-admin").post("/api/venues", json={**room, "name": "远处的教室", "datum": "gcj02",
                                                         "centre_lat": 29.62, "centre_lon": 106.53}).get_json()
    pending = {p["venue"]["id"]: p for p in login("yubei-supervisor").get("/api/venue-fences/pending").get_json()}
    assert set(pending) == {mine["id"], far["id"]}
    [venue] = pending[mine["id"]]["nearby"]
    assert venue["id"] == worlds["yubei"].venue_id and venue["status"] == "approved"
    assert (venue["datum"], venue["fence_kind"], venue["centre_lat"], venue["radius_m"]) == ("gcj02", "circle", 29.6, 100)
    assert pending[far["id"]]["nearby"] == []


def test_the_venue_form_gets_the_map_picker_only_with_a_tile_source_and_only_for_who_adds_venues(app, worlds, login):
    offline = login("yubei-admin").get("/manage").get_data(as_text=True)
    assert "leaflet" not in offline and 'id="venue-map"' not in offline and 'id="venue-map-off"' in offline
    app.config["MAP_SETTINGS"] = map_settings({"HOURPROOF_MAP_TILES": AMAP, "HOURPROOF_MAP_DATUM": "gcj02",
                                               "HOURPROOF_MAP_SUBDOMAINS": "1,2"})
    html = login("yubei-admin").get("/manage").get_data(as_text=True)
    assert "/vendor/leaflet.js" in html and "/static/staff/map.js" in html and 'id="venue-map"' in html
    assert '"datum": "gcj02"' in html  # the datum a picked point is recorded in: the tiles'
    read_only = login("yubei-supervisor").get("/manage").get_data(as_text=True)  # 人社: no venue form, no map
    assert "leaflet" not in read_only and "venue-map" not in read_only
