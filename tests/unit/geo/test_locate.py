"""locate(): is the whole accuracy circle inside the venue's fence, in the fence's datum?"""
from __future__ import annotations

import math

import pytest

from policies.geofence import (
    Circle,
    Datum,
    FenceError,
    Fix,
    FixError,
    Polygon,
    Verdict,
    convert,
    distance_m,
    fence_from_record,
    locate,
)
from tests.unit.geo import geodesic

# A venue in Chongqing picked on AMap (GCJ-02), radius 100 m.
CENTRE_GCJ = (29.5630, 106.5516)
FENCE = Circle(*CENTRE_GCJ, 100.0, Datum.GCJ02)


def phone_at(bearing: float, metres: float, accuracy: float, centre=CENTRE_GCJ) -> Fix:
    """A WGS-84 fix from a phone standing `metres` from the (GCJ-02) centre along `bearing`."""
    gcj = geodesic.direct(*centre, bearing, metres)
    return Fix(*convert(*gcj, Datum.GCJ02, Datum.WGS84), accuracy, Datum.WGS84)


@pytest.mark.parametrize("metres, accuracy, verdict", [
    pytest.param(0, 20, Verdict.INSIDE, id="at the centre"),
    pytest.param(79, 20, Verdict.INSIDE, id="circle just fits"),
    pytest.param(81, 20, Verdict.UNCERTAIN, id="circle pokes out"),
    pytest.param(100, 20, Verdict.UNCERTAIN, id="on the boundary"),
    pytest.param(119, 20, Verdict.UNCERTAIN, id="circle still touches"),
    pytest.param(121, 20, Verdict.OUTSIDE, id="circle clear of the fence"),
    pytest.param(330, 20, Verdict.OUTSIDE, id="across the street"),
    pytest.param(0, 51, Verdict.TOO_INACCURATE, id="inside but too vague"),
])
def test_a_circle_fence_judges_the_whole_accuracy_circle(metres, accuracy, verdict):
    check = locate(phone_at(37.0, metres, accuracy), FENCE, max_accuracy_m=50)
    assert check.verdict is verdict
    assert check.verified is (verdict is Verdict.INSIDE)
    assert check.distance_m == pytest.approx(metres - 100, abs=0.01)


def test_the_fix_is_converted_into_the_fence_datum_before_comparing():
    # The phone stands at the centre. Read naively as if its WGS-84 numbers were GCJ-02, it
    # would be ~480 m away: the conversion is what makes a real attendee count.
    fix = phone_at(0, 0, 10)
    assert distance_m((fix.lat, fix.lon), CENTRE_GCJ) > 300
    check = locate(fix, FENCE, 50)
    assert check.verdict is Verdict.INSIDE
    assert (check.lat, check.lon) == pytest.approx(CENTRE_GCJ, abs=1e-8)
    assert check.datum is Datum.GCJ02


def test_a_baidu_fence_is_compared_in_bd09():
    bd_centre = convert(*CENTRE_GCJ, Datum.GCJ02, Datum.BD09)
    fence = Circle(*bd_centre, 100.0, "bd09")
    assert locate(phone_at(90, 50, 10), fence, 50).verdict is Verdict.INSIDE
    assert locate(phone_at(90, 150, 10), fence, 50).verdict is Verdict.OUTSIDE


def test_outside_says_how_far_in_chinese():
    check = locate(phone_at(200, 330, 15), FENCE, 50)
    assert check.verdict is Verdict.OUTSIDE
    assert check.distance_m == pytest.approx(230, abs=0.05)
    (reason,) = check.reasons
    assert reason.code == "outside_fence"
    assert "您距离培训场地约 230 米" in reason.detail


def test_too_inaccurate_says_what_to_do_and_still_reports_the_distance():
    check = locate(phone_at(0, 5000, 180), FENCE, 50, clause="cq 5.2")
    assert check.verdict is Verdict.TOO_INACCURATE
    assert check.distance_m == pytest.approx(4900, abs=0.5)
    (reason,) = check.reasons
    assert reason.code == "too_inaccurate" and reason.clause == "cq 5.2"
    assert reason.detail == "定位精度 180 米，超过 50 米要求，请到室外或开启精确定位后重试"


def test_uncertain_explains_why_and_inside_has_no_reasons():
    check = locate(phone_at(0, 95, 20), FENCE, 50)
    assert check.verdict is Verdict.UNCERTAIN
    assert check.reasons[0].code == "fence_uncertain"
    assert "无法确认" in check.reasons[0].detail
    assert locate(phone_at(0, 10, 20), FENCE, 50).reasons == ()


def test_the_caller_cites_its_regions_clause():
    check = locate(phone_at(0, 500, 10), FENCE, 50, clause="js 4.2")
    assert check.reasons[0].clause == "js 4.2"


def test_as_dict_is_what_the_api_returns():
    d = locate(phone_at(0, 500, 10), FENCE, 50).as_dict()
    assert d["verdict"] == "outside" and d["verified"] is False and d["datum"] == "gcj02"
    assert d["distance_m"] == pytest.approx(400, abs=0.1)
    assert d["reasons"][0]["code"] == "outside_fence"


# --- polygons ----------------------------------------------------------------------------


def _square(half: float, centre=CENTRE_GCJ) -> Polygon:
    north = geodesic.direct(*centre, 0, half)[0]
    south = geodesic.direct(*centre, 180, half)[0]
    east = geodesic.direct(*centre, 90, half)[1]
    west = geodesic.direct(*centre, 270, half)[1]
    return Polygon(((north, west), (north, east), (south, east), (south, west)), Datum.GCJ02)


@pytest.mark.parametrize("bearing, metres, accuracy, verdict, distance", [
    pytest.param(0, 0, 20, Verdict.INSIDE, -100, id="centre"),
    pytest.param(90, 70, 20, Verdict.INSIDE, -30, id="near the east wall"),
    pytest.param(90, 90, 20, Verdict.UNCERTAIN, -10, id="too near the east wall"),
    pytest.param(90, 130, 20, Verdict.OUTSIDE, 30, id="east of it"),
    pytest.param(45, 100 * math.sqrt(2) + 50, 20, Verdict.OUTSIDE, 50, id="beyond the corner"),
])
def test_a_polygon_fence_judges_the_whole_accuracy_circle(bearing, metres, accuracy, verdict, distance):
    check = locate(phone_at(bearing, metres, accuracy), _square(100), 50)
    assert check.verdict is verdict
    assert check.distance_m == pytest.approx(distance, abs=0.3)


def test_a_concave_polygon_does_not_count_the_notch():
    # An L-shaped venue: the notch (north-east quarter) is outside.
    c = CENTRE_GCJ
    n = geodesic.direct(*c, 0, 100)[0]
    s = geodesic.direct(*c, 180, 100)[0]
    e = geodesic.direct(*c, 90, 100)[1]
    w = geodesic.direct(*c, 270, 100)[1]
    lat0, lon0 = c
    fence = Polygon(((n, w), (n, lon0), (lat0, lon0), (lat0, e), (s, e), (s, w)), "gcj02")
    assert locate(phone_at(45, 70, 10), fence, 50).verdict is Verdict.OUTSIDE
    assert locate(phone_at(225, 70, 10), fence, 50).verdict is Verdict.INSIDE


def test_a_closing_vertex_is_dropped_and_lists_are_accepted():
    square = _square(100)
    closed = Polygon([list(p) for p in square.points] + [list(square.points[0])], "gcj02")
    assert closed.points == square.points


@pytest.mark.parametrize("points, code", [
    pytest.param(((29.56, 106.55), (29.57, 106.55)), "polygon_too_few_points", id="two points"),
    pytest.param(((29.56, 106.55), (29.57, 106.55), (29.58, 106.55)), "polygon_degenerate", id="on a line"),
    pytest.param(((29.56, 106.55), (29.57, 106.56), (29.57, 106.55), (29.56, 106.56)), "polygon_self_intersecting",
                 id="bow tie"),
    pytest.param(((29.56, 106.55), (29.57, float("nan")), (29.58, 106.56)), "coordinates_invalid", id="NaN"),
    pytest.param(((29.56, 106.55), (95.0, 106.55), (29.58, 106.56)), "coordinates_out_of_range", id="lat 95"),
    pytest.param(((29.56,), (29.57, 106.55), (29.58, 106.56)), "polygon_invalid", id="not pairs"),
])
def test_unusable_polygons_are_refused_with_a_code(points, code):
    with pytest.raises(FenceError) as e:
        Polygon(points, "gcj02")
    assert e.value.code == code


@pytest.mark.parametrize("kwargs, code", [
    pytest.param(dict(radius_m=0), "radius_invalid", id="zero radius"),
    pytest.param(dict(radius_m=float("inf")), "radius_invalid", id="infinite radius"),
    pytest.param(dict(radius_m=200_000), "fence_too_large", id="200 km"),
    pytest.param(dict(datum="cgcs2000"), "datum_unknown", id="unknown datum"),
])
def test_unusable_circles_are_refused_with_a_code(kwargs, code):
    args = dict(lat=29.56, lon=106.55, radius_m=100.0, datum="gcj02") | kwargs
    with pytest.raises(FenceError) as e:
        Circle(**args)
    assert e.value.code == code


def test_fences_are_built_from_the_venue_record():
    assert fence_from_record("circle", "gcj02", lat=29.56, lon=106.55, radius_m=80) == Circle(29.56, 106.55, 80, Datum.GCJ02)
    square = _square(100)
    assert fence_from_record("polygon", "gcj02", points=[list(p) for p in square.points]) == square
    with pytest.raises(FenceError):
        fence_from_record("hexagon", "gcj02")


# --- bad fixes ---------------------------------------------------------------------------


@pytest.mark.parametrize("lat, lon, accuracy, code", [
    pytest.param(float("nan"), 106.55, 10, "coordinates_invalid", id="NaN latitude"),
    pytest.param(29.56, float("inf"), 10, "coordinates_invalid", id="infinite longitude"),
    pytest.param("29.56", 106.55, 10, "coordinates_invalid", id="a string"),
    pytest.param(True, 106.55, 10, "coordinates_invalid", id="a bool"),
    pytest.param(91.0, 106.55, 10, "coordinates_out_of_range", id="latitude 91"),
    pytest.param(29.56, -181.0, 10, "coordinates_out_of_range", id="longitude -181"),
    pytest.param(29.56, 106.55, -1, "accuracy_invalid", id="negative accuracy"),
    pytest.param(29.56, 106.55, float("nan"), "accuracy_invalid", id="NaN accuracy"),
    pytest.param(29.56, 106.55, 150_000, "accuracy_absurd", id="150 km accuracy"),
])
def test_a_fix_that_is_not_a_location_is_refused_with_a_code_and_a_chinese_detail(lat, lon, accuracy, code):
    with pytest.raises(FixError) as e:
        Fix(lat, lon, accuracy)
    assert e.value.code == code
    assert isinstance(e.value, ValueError)
    assert "重试" in e.value.detail
    assert e.value.reason.code == code


def test_an_accuracy_of_exactly_zero_cannot_be_located():
    fix = Fix(29.56, 106.55, 0)  # kept, so that fix_signals can flag it
    with pytest.raises(FixError) as e:
        locate(fix, FENCE, 50, clause="cq 5.2")
    assert e.value.code == "accuracy_zero"
    assert e.value.reason.clause == "cq 5.2"


@pytest.mark.parametrize("max_accuracy", [0, -5, float("nan")])
def test_a_nonsense_accuracy_limit_is_refused(max_accuracy):
    with pytest.raises(ValueError):
        locate(phone_at(0, 0, 10), FENCE, max_accuracy)


def test_the_local_distance_agrees_with_the_geodesic():
    for bearing in range(0, 360, 15):
        for metres in (1, 50, 300, 2000, 10_000):
            here = geodesic.direct(*CENTRE_GCJ, bearing, metres)
            assert distance_m(CENTRE_GCJ, here) == pytest.approx(metres, abs=0.01)


def test_distances_work_across_the_antimeridian():
    assert distance_m((0.0, 179.9999), (0.0, -179.9999)) == pytest.approx(22.26, abs=0.01)
