"""The staff pages at a phone's width (390 x 844) in a real Chromium, each as the roles that see
it: nothing wider than the screen (no sideways scrolling of the page; a wide table scrolls in its
own box or turns into cards, forms stack in one column, dialogs fit), a screenshot of each in
test-artifacts/. And the venue form's map: a click on it sets the fence's centre and the datum
of the map's tiles (GCJ-02 here, as AMap's), and typed coordinates move the marker."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from policies import geofence
from server.config import MapSettings
from tests.browser import ARTIFACTS, PHONE, launch, serve, tile_server, watched_page
from tests.factories import PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

WIDTH = PHONE["viewport"]["width"]

#: The page's width, and what sticks out past the screen when it is too wide (outside any box that
#: scrolls on its own), so a failure names the element.
MEASURE = """() => {
  const w = document.documentElement.clientWidth, out = [];
  const scrolls = (e) => { for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
    const o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'scroll' || o === 'hidden') return true; } return false; };
  for (const e of document.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect();
    if (r.width && r.right > w + 1 && !scrolls(e)) out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
      (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '') + ' ' + Math.round(r.right));
  }
  return { width: document.documentElement.scrollWidth, over: out.slice(0, 12) };
}"""


def _fits(page, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(ARTIFACTS / f"staff-phone-{name}.png"), full_page=True)
    got = page.evaluate(MEASURE)
    assert got["width"] <= WIDTH, (name, got)


def _log_in(browser, base: str, username: str | None):
    page = watched_page(browser.new_context(**PHONE))
    page.goto(base + "/login")
    if username:
        page.fill("#login-form input[name=username]", username)
        page.fill("#login-form input[name=password]", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
    return page


def _open_forms(page) -> None:
    page.evaluate("() => document.querySelectorAll('details').forEach((d) => { d.open = true; })")


#: Where the venue picker's marker is drawn in its map's box, and where Leaflet puts `point` (GCJ-02).
MARKER = """([point]) => {
  const box = document.getElementById('venue-map'), map = HPMap.mapOf(box), r = box.getBoundingClientRect();
  const m = box.querySelector('.hp-pin').getBoundingClientRect(), q = map.latLngToContainerPoint(point);
  return [m.left + m.width / 2 - r.left - box.clientLeft, m.top + m.height / 2 - r.top - box.clientTop, q.x, q.y];
}"""


def test_every_staff_page_fits_a_390_pixel_phone_and_a_click_on_the_venue_map_sets_the_centre_in_the_tiles_datum(
        app, session, worlds):
    from playwright.sync_api import expect, sync_playwright

    from server.models import Lesson, LessonContent, LessonMode

    y = worlds["yubei"]
    # A lesson of the yubei class in session now: /live shows it, and its roll (the teacher's phone view).
    now = datetime.now(UTC)
    lesson = Lesson(class_id=y.class_id, starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(hours=2),
                    mode=LessonMode.offline, content=LessonContent.practice, venue_id=y.venue_id, teacher_id=y.teacher_id)
    session.add(lesson)
    session.commit()
    ARTIFACTS.mkdir(exist_ok=True)
    with tile_server() as tiles, serve(app) as base, sync_playwright() as pw:
        app.config["MAP_SETTINGS"] = MapSettings(tiles=tiles.url + "/{z}/{x}/{y}.png", datum="gcj02", attribution="测试底图")
        browser = launch(pw)
        try:
            page = _log_in(browser, base, None)
            _fits(page, "login")

            page = _log_in(browser, base, "yubei-admin")
            page.goto(base + "/manage")
            page.wait_for_selector("#venues-table tbody tr td:nth-child(2)")
            _open_forms(page)
            form, box = page.locator("#venue-form"), page.locator("#venue-map")
            expect(box.locator(".leaflet-tile-loaded").first).to_be_visible()
            # Typed WGS-84 coordinates: the marker goes where they are on the GCJ-02 tiles.
            form.locator("select[name=datum]").select_option("wgs84")
            form.locator("input[name=centre_lat]").fill("29.7215")
            form.locator("input[name=centre_lon]").fill("106.6312")
            expect(box.locator(".hp-pin")).to_have_count(1)
            page.wait_for_function("() => HPMap.mapOf(document.getElementById('venue-map')).getZoom() >= 16")
            mx, my, ex, ey = page.evaluate(MARKER, [list(geofence.convert(29.7215, 106.6312, "wgs84", "gcj02"))])
            assert abs(mx - ex) < 1.5 and abs(my - ey) < 1.5, (mx, my, ex, ey)
            # A click on the map: the centre is the point clicked, in the tiles' datum.
            clicked = page.evaluate("() => { const p = HPMap.mapOf(document.getElementById('venue-map'))"
                                    ".containerPointToLatLng([100, 60]); return [p.lat, p.lng]; }")
            box.click(position={"x": 100, "y": 60})
            expect(form.locator("select[name=datum]")).to_have_value("gcj02")
            expect(page.locator("#venue-map-caption")).to_contain_text("GCJ-02")
            lat, lon = (float(form.locator(f"input[name={n}]").input_value()) for n in ("centre_lat", "centre_lon"))
            assert (lat, lon) == pytest.approx(tuple(clicked), abs=3e-5)  # the pixel clicked, to a metre or two
            # Dragged 40 px east: the centre follows the marker.
            pin = box.locator(".hp-pin").bounding_box()
            assert pin is not None
            page.mouse.move(pin["x"] + pin["width"] / 2, pin["y"] + pin["height"] / 2)
            page.mouse.down()
            page.mouse.move(pin["x"] + pin["width"] / 2 + 40, pin["y"] + pin["height"] / 2, steps=8)
            page.mouse.up()
            expect(form.locator("input[name=centre_lon]")).not_to_have_value(f"{clicked[1]:.6f}")
            dropped = page.evaluate("() => { const p = HPMap.mapOf(document.getElementById('venue-map'))"
                                    ".containerPointToLatLng([140, 60]); return [p.lat, p.lng]; }")
            lat, lon = (float(form.locator(f"input[name={n}]").input_value()) for n in ("centre_lat", "centre_lon"))
            assert (lat, lon) == pytest.approx(tuple(dropped), abs=3e-5)  # where it was dropped, to a metre or two
            _fits(page, "manage-admin")
            form.locator("input[name=name]").fill("地图取点实训室")
            form.locator("input[name=address]").fill("重庆市渝北区示例路 2 号")
            form.locator("button[type=submit]").click()
            row = page.locator("#venues-table tr", has_text="地图取点实训室")
            expect(row).to_contain_text("GCJ-02（高德/腾讯）")
            expect(row).to_contain_text(f"{lat}, {lon}")
            assert tiles.paths
            admin = page  # comes back to the form without a map at the end
            page.goto(base + f"/manage/classes/{y.class_id}")
            page.wait_for_selector("#class-facts dd:not(.muted)")
            _open_forms(page)
            _fits(page, "class-admin")
            page.evaluate("() => document.getElementById('quiz-dialog').showModal()")
            _fits(page, "class-admin-dialog")
            page.goto(base + "/manage/audit")
            page.wait_for_selector("#audit-table tbody tr td:nth-child(2)")
            _open_forms(page)  # each entry's content, unfolded
            _fits(page, "audit-admin")
            assert page.problems == []

            page = _log_in(browser, base, "yubei-supervisor")
            page.goto(base + "/live")
            page.wait_for_selector("#live-status.on")
            expect(page.locator("#fences .leaflet-tile-loaded").first).to_be_visible()  # the new venue's fence, on the map
            _fits(page, "live-supervisor")
            page.goto(base + "/manage")
            page.wait_for_selector("#classes-table tbody tr td:nth-child(2)")
            _fits(page, "manage-supervisor")
            page.goto(base + f"/manage/classes/{y.class_id}")
            page.wait_for_selector("#class-facts dd:not(.muted)")
            _fits(page, "class-supervisor")
            assert page.problems == []

            page = _log_in(browser, base, "yubei-teacher")
            page.goto(base + "/live")
            page.wait_for_selector("#live-status.on")
            page.locator(f"#lessons-table tr[data-lesson='{lesson.id}'] button", has_text="点名册").click()
            expect(page.locator("#roll-table tbody tr").first).to_contain_text("yubei trainee")
            _fits(page, "live-teacher")
            assert page.problems == []

            # No tile server: no map on the venue form, whose coordinates are typed by hand as before.
            app.config["MAP_SETTINGS"] = MapSettings()
            admin.goto(base + "/manage")
            expect(admin.locator("#venue-map-off")).to_be_attached()
            expect(admin.locator(".leaflet-container")).to_have_count(0)
            assert admin.problems == []
        finally:
            browser.close()
