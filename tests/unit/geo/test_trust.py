"""What the server trusts of a phone's fix (datum label, fix time) and how large a venue's fence may be."""
from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from policies.geofence import (
    Circle,
    Datum,
    FenceLimits,
    Polygon,
    datum_claim_reason,
    fence_plausibility,
    fix_time_reasons,
)

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
CENTRE = (29.6201, 106.5350)


def test_a_wgs84_fix_is_accepted_and_other_labels_are_refused_by_default():
    assert datum_claim_reason("wgs84", ["wgs84"]) is None
    reason = datum_claim_reason("gcj02", ["wgs84"])
    assert reason is not None and reason.code == "datum_not_accepted" and reason.clause == "POLICY §9"
    assert "浏览器" in reason.detail and "重新签到" in reason.detail


def test_a_deployment_may_accept_more_datum_labels():
    assert datum_claim_reason("GCJ02", [Datum.WGS84, "gcj02"]) is None
    assert datum_claim_reason("bd09", [Datum.WGS84, "gcj02"]) is not None


@pytest.mark.parametrize("age_s, code", [
    pytest.param(5, None, id="fresh"),
    pytest.param(150, None, id="at the limit"),
    pytest.param(151, "fix_stale", id="just too old"),
    pytest.param(7200, "fix_stale", id="two hours old"),
    pytest.param(-20, None, id="phone clock a little ahead"),
    pytest.param(-31, "fix_in_future", id="phone clock far ahead"),
])
def test_a_fix_must_be_from_now_by_the_servers_clock(age_s, code):
    reasons = fix_time_reasons(NOW - timedelta(seconds=age_s), NOW, 150, 30, clause="cq 5.2")
    assert [r.code for r in reasons] == ([code] if code else [])
    assert all(r.clause == "cq 5.2" and "重新" in r.detail for r in reasons)


def test_a_fix_without_a_time_is_refused():
    (reason,) = fix_time_reasons(None, NOW, 150, 30)
    assert reason.code == "fix_time_missing" and "刷新" in reason.detail


def test_a_fence_that_fits_its_declared_area_is_plausible():
    # 420 m²: 23 m (a disc of 4 x the area) + 50 m margin = 73 m
    check = fence_plausibility(Circle(*CENTRE, 70), 420)
    assert check.plausible and check.measures["allowed_extent_m"] == pytest.approx(73.1, abs=0.1)


def test_a_100_km_fence_for_a_420_square_metre_venue_is_not_plausible():
    check = fence_plausibility(Circle(*CENTRE, 100_000), 420)
    assert {r.code for r in check.reasons} == {"fence_too_large"}
    assert "100 公里" in check.reasons[0].detail
    check = fence_plausibility(Circle(*CENTRE, 200), 420)
    assert [r.code for r in check.reasons] == ["fence_exceeds_venue"]
    assert "420 平方米" in check.reasons[0].detail


def test_a_fence_without_a_declared_area_is_not_plausible():
    check = fence_plausibility(Circle(*CENTRE, 50), None)
    assert [r.code for r in check.reasons] == ["venue_area_missing"]


def test_a_long_thin_polygon_is_held_to_the_same_bound_as_a_circle():
    # 2 m wide and 400 m long: only 800 m², but it reaches 200 m from its centre.
    d_lat = 200 / 111_320
    d_lon = 1 / (111_320 * math.cos(math.radians(CENTRE[0])))
    strip = Polygon(((CENTRE[0] - d_lat, CENTRE[1] - d_lon), (CENTRE[0] + d_lat, CENTRE[1] - d_lon),
                     (CENTRE[0] + d_lat, CENTRE[1] + d_lon), (CENTRE[0] - d_lat, CENTRE[1] + d_lon)))
    assert strip.area_m2 == pytest.approx(800, rel=0.01)
    assert [r.code for r in fence_plausibility(strip, 800).reasons] == ["fence_exceeds_venue"]
    assert fence_plausibility(strip, 800, FenceLimits(max_extent_m=150)).reasons[0].code == "fence_too_large"
