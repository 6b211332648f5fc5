"""The map under fences and fixes in a real Chromium at a phone's width, on a tile server of the
test's own on 127.0.0.1 (nothing leaves the machine): GCJ-02 tiles, the way AMap and Tencent
draw them, under a venue whose fence was entered in BD-09 (Baidu's picker) and fixes in WGS-84
(what phones report). Every point must land where Python's policies.geofence puts it in GCJ-02,
so the fix inside the fence is drawn inside and the one outside outside; the map script's
conversions give Python's numbers on published pairs; and with no tile source the page draws
the plan it always did and loads nothing for a map."""
from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

import pytest

from policies import geofence
from server.config import MapSettings
from tests.browser import ARTIFACTS, PHONE, launch, serve, tile_server, watched_page
from tests.factories import PASSWORD, VENUE_GCJ, approve_fence, yubei_institution

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

#: The known point of issue 19's brief: Tiananmen, WGS-84 -> GCJ-02 as it is commonly quoted
#: (rounded to 1e-6 degrees); ours lies 0.3 m from it, within the 1 m asked. The exact references
#: are the published pairs below (googollee/eviltransform's and the coordtransform family's test
#: suites, as in tests/unit/geo/test_datums.py), which the script must match to 1e-9 degrees.
TIANANMEN_WGS, TIANANMEN_GCJ = (39.908692, 116.397477), (39.910093, 116.403722)
#: Conversions the map script must agree on with Python: the published pairs of
#: tests/unit/geo/test_datums.py (eviltransform, coordtransform) and the venue of this test.
AGREE = [(*TIANANMEN_WGS, "wgs84", "gcj02"), (31.1774276, 121.5272106, "wgs84", "gcj02"),
         (22.543847, 113.912316, "wgs84", "gcj02"), (39.91334545536069, 116.38404722455657, "gcj02", "wgs84"),
         (39.915, 116.404, "gcj02", "bd09"), (39.915, 116.404, "bd09", "gcj02"), (39.915, 116.404, "bd09", "wgs84"),
         (*VENUE_GCJ, "gcj02", "wgs84"), (*VENUE_GCJ, "gcj02", "bd09"), (48.8584, 2.2945, "wgs84", "gcj02")]
RADIUS_M = 120




def _north(point: tuple[float, float], metres: float) -> tuple[float, float]:
    return point[0] + metres / 110_574.0, point[1]


def _tile(lat: float, lon: float, zoom: int) -> str:
    """The Web Mercator tile holding (lat, lon) at `zoom`, as the path the server sees."""
    n = 2 ** zoom
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return f"/{zoom}/{x}/{y}.png"


@pytest.fixture
def map_world(app, session) -> dict:
    """An offline lesson in progress at a BD-09 venue whose fence awaits the district's approval,
    an approved GCJ-02 venue 400 m east of it, and two trainees' check-ins: one fix 20 m from the
    fence's centre, one 300 m."""
    from server.adapters.passwords import hash_password
    from server.models import (
        Enrollment,
        Lesson,
        LessonContent,
        LessonMode,
        Level,
        Role,
        Trainee,
        TrainingClass,
        User,
        Venue,
    )
    from server.services import chain

    district, inst = yubei_institution(session)
    bd = geofence.convert(*VENUE_GCJ, "gcj02", "bd09")
    venue = Venue(institution_id=inst.id, name="百度坐标实训室", address="渝北区", datum="bd09", fence_kind="circle",
                  centre_lat=bd[0], centre_lon=bd[1], radius_m=RADIUS_M, max_accuracy_m=50, area_m2=4000)
    east = (VENUE_GCJ[0], VENUE_GCJ[1] + 400 / (111_320.0 * math.cos(math.radians(VENUE_GCJ[0]))))
    neighbour = Venue(institution_id=inst.id, name="隔壁教室", address="渝北区", datum="gcj02", fence_kind="circle",
                      centre_lat=east[0], centre_lon=east[1], radius_m=60, max_accuracy_m=50, area_m2=420)
    session.add_all([venue, neighbour])
    session.flush()
    approve_fence(session, neighbour)
    now = datetime.now(UTC)
    cls = TrainingClass(institution_id=inst.id, region_code="cq", district_id=district.id, name="云计算中级",
                        occupation_code="2-02-38-04", level=Level.mid, starts_on=now.date() - timedelta(days=5),
                        ends_on=now.date() + timedelta(days=30))
    session.add(cls)
    session.flush()
    lesson = Lesson(class_id=cls.id, starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(hours=3),
                    mode=LessonMode.offline, content=LessonContent.practice, venue_id=venue.id)
    inside, outside = Trainee(resident_id="500112199503120419", name="林曼努", phone="13800000001"), \
        Trainee(resident_id="500112199807050827", name="罗斯林", phone="13800000004")
    session.add_all([lesson, inside, outside])
    session.flush()
    session.add(User(username="supervisor", display_name="监管", role=Role.district_supervisor, district_id=district.id,
                     password_hash=hash_password(PASSWORD)))
    centre = geofence.convert(*VENUE_GCJ, "gcj02", "wgs84")
    fixes = {}
    for trainee, metres, verdict in ((inside, 20, "inside"), (outside, 300, "outside")):
        enrollment = Enrollment(class_id=cls.id, trainee_id=trainee.id)
        session.add(enrollment)
        session.flush()
        fixes[trainee.id] = fix = _north(centre, metres)
        chain.append(session, chain.NewEvent(
            kind="check_in", class_id=cls.id, lesson_id=lesson.id, enrollment_id=enrollment.id, trainee_id=trainee.id,
            at=now, verdict="verified" if verdict == "inside" else "rejected", idempotency_key=f"map-{trainee.id}",
            evidence={"location": {"lat": fix[0], "lon": fix[1], "accuracy_m": 15.0, "datum": "wgs84"},
                      "fence": {"verdict": verdict, "distance_m": 0.0 if verdict == "inside" else metres - RADIUS_M}}))
    session.commit()
    return {"lesson": lesson.id, "venue": venue.id, "inside": inside.id, "outside": outside.id, "fixes": fixes}


#: Where the drawn shapes are in the map's box, and where Leaflet puts the given points (GCJ-02).
POSITIONS = """([box, ids, points]) => {
  const el = document.querySelector(box), map = HPMap.mapOf(el), r = el.getBoundingClientRect();
  const at = (path) => { const b = el.querySelector(path).getBoundingClientRect();
    return [b.left + b.width / 2 - r.left - el.clientLeft, b.top + b.height / 2 - r.top - el.clientTop, b.width / 2]; };
  return { zoom: map.getZoom(), fence: at('path.hp-fence'), fixes: ids.map((id) => at('path.hp-trainee-' + id)),
           points: points.map((p) => { const q = map.latLngToContainerPoint(p); return [q.x, q.y]; }) };
}"""


def test_the_map_shows_a_fix_inside_and_one_outside_a_fence_on_gcj02_tiles_from_a_local_tile_server(app, map_world):
    from playwright.sync_api import expect, sync_playwright

    w = map_world
    gcj = {tid: geofence.convert(*fix, "wgs84", "gcj02") for tid, fix in w["fixes"].items()}
    with tile_server() as tiles, serve(app) as base, sync_playwright() as pw:
        app.config["MAP_SETTINGS"] = MapSettings(tiles=tiles.url + "/{z}/{x}/{y}.png", datum="gcj02", attribution="测试底图 <b>")
        browser = launch(pw)
        try:
            page = watched_page(browser.new_context(**PHONE))
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(base + "/login?next=/live")
            page.fill("#login-form input[name=username]", "supervisor")
            page.fill("#login-form input[name=password]", PASSWORD)
            page.click("#login-form button[type=submit]")

            # The fence awaiting approval, on the map with the district's venue next door.
            card = page.locator(f"#fences article[data-venue='{w['venue']}']")
            expect(card.locator(".leaflet-tile-loaded").first).to_be_visible()
            expect(card.locator("path.hp-fence")).to_have_count(1)
            expect(card.locator("path.hp-venue")).to_have_count(1)
            assert card.evaluate("""(card) => { const m = card.querySelector('.hp-map').getBoundingClientRect();
              return ['path.hp-fence', 'path.hp-venue'].every((s) => { const b = card.querySelector(s).getBoundingClientRect();
                return b.left >= m.left && b.right <= m.right && b.top >= m.top && b.bottom <= m.bottom; }); }""")
            expect(card.locator("figcaption")).to_contain_text("BD-09（百度）")
            expect(card.locator(".leaflet-control-attribution")).to_contain_text("测试底图 <b>")  # text, not HTML

            # The roll: each row keeps its plan and gets a 地图 button; the panel fits the phone.
            page.locator(f"#lessons-table tr[data-lesson='{w['lesson']}'] button", has_text="点名册").click()
            row = page.locator(f"#roll-table tr[data-trainee='{w['outside']}']")
            expect(row.locator("svg.plan circle.fence")).to_have_count(1)
            row.locator("button.map-open").click()
            panel = page.locator("#roll-map")
            expect(panel.locator(".leaflet-tile-loaded").first).to_be_visible()
            expect(panel.locator("path.hp-fix")).to_have_count(2)
            expect(panel.locator("#roll-map-caption")).to_contain_text("在围栏外")
            box = panel.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["viewport"]["width"]
            page.wait_for_function("() => HPMap.mapOf(document.querySelector('#roll-map .hp-map')).getZoom() > 0")

            # Every point is where Python puts it in GCJ-02 (the BD-09 fence and the WGS-84 fixes
            # converted; unconverted, either would be hundreds of pixels away) ...
            where = page.evaluate(POSITIONS, ["#roll-map .hp-map", [w["inside"], w["outside"]],
                                              [list(VENUE_GCJ), list(gcj[w["inside"]]), list(gcj[w["outside"]])]])
            (fx, fy, radius), drawn, expected = where["fence"], where["fixes"], where["points"]
            for (x, y), (ex, ey) in zip([(fx, fy), *[(d[0], d[1]) for d in drawn]], expected, strict=True):
                assert math.hypot(x - ex, y - ey) < 1.5, (x, y, ex, ey)
            # ... so the fix inside is drawn inside the fence and the one outside outside.
            assert math.hypot(drawn[0][0] - fx, drawn[0][1] - fy) < radius * 0.5
            assert math.hypot(drawn[1][0] - fx, drawn[1][1] - fy) > radius * 2
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "live-map-phone.png"), full_page=True)

            # The tiles came from the local server, the one under the fence's GCJ-02 centre among
            # them, and nothing else was contacted.
            assert tiles.paths and all(re.fullmatch(r"/\d+/\d+/\d+\.png", p) for p in tiles.paths)
            assert _tile(*VENUE_GCJ, where["zoom"]) in tiles.paths
            assert tiles.referrers == {base + "/"}  # this site's origin, never the page (/live) or what is looked at
            assert [u for u in requests if not u.startswith((base + "/", tiles.url + "/", "data:"))] == []

            # The map script converts as policies/geofence.py does, and the known point holds.
            ours = page.evaluate("(cases) => cases.map((c) => HPMap.convert(c[0], c[1], c[2], c[3]))", AGREE)
            for (lat, lon, source, target), js in zip(AGREE, ours, strict=True):
                assert js == pytest.approx(geofence.convert(lat, lon, source, target), abs=1e-9), (lat, lon, source, target)
            assert geofence.distance_m(tuple(ours[0]), TIANANMEN_GCJ) < 1.0

            # No tile source: the plan drawing as before, and nothing loaded for a map.
            app.config["MAP_SETTINGS"] = MapSettings()
            asked, requests[:] = len(tiles.paths), []
            page.reload()
            page.locator(f"#lessons-table tr[data-lesson='{w['lesson']}'] button", has_text="点名册").click()
            row = page.locator(f"#roll-table tr[data-trainee='{w['inside']}']")
            expect(row.locator("svg.plan circle.fence")).to_have_count(1)
            expect(row.locator("svg.plan circle.fix")).to_have_count(1)
            expect(page.locator("button.map-open")).to_have_count(0)
            expect(page.locator(".leaflet-container")).to_have_count(0)
            expect(card.locator("button", has_text="通过")).to_be_visible()  # the fence card, without its map
            expect(card.locator(".hp-map")).to_have_count(0)
            assert not any("leaflet" in u for u in requests) and len(tiles.paths) == asked
            assert page.problems == []
        finally:
            browser.close()
