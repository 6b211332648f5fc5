"""Properties of locate() and of the conversions, over many generated fences and fixes."""
from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from policies.geofence import Circle, Datum, Fix, Polygon, Verdict, convert, distance_m, locate
from tests.unit.geo import geodesic

# Mainland China, away from the edges of the standard box (where GCJ-02 switches off).
lat_cn = st.floats(18.5, 50.0)
lon_cn = st.floats(75.0, 133.0)
datums = st.sampled_from(list(Datum))
bearing = st.floats(0, 360, exclude_max=True)
MARGIN = 0.05  # metres: the geodesic oracle vs the local projection, with room to spare
NO_LIMIT = 1e9


def fix_from(centre, datum: Datum, bearing_deg: float, metres: float, accuracy: float) -> Fix:
    """A phone's WGS-84 fix standing `metres` from `centre` (given in the fence's datum)."""
    there = geodesic.direct(*centre, bearing_deg, metres)
    return Fix(*convert(*there, datum, Datum.WGS84), accuracy)


@settings(max_examples=300, deadline=None)
@given(lat_cn, lon_cn, datums, st.floats(10, 2000), bearing, st.floats(0, 1), st.floats(0.5, 500))
def test_a_fix_whose_circle_is_inside_is_never_reported_outside(lat, lon, datum, radius, b, share, accuracy):
    # Put the fix so that its whole circle is inside the fence (with a margin), if it can be.
    room = radius - accuracy - MARGIN
    if room < 0:
        return
    fix = fix_from((lat, lon), datum, b, share * room, accuracy)
    check = locate(fix, Circle(lat, lon, radius, datum), NO_LIMIT)
    assert check.verdict is Verdict.INSIDE


@settings(max_examples=300, deadline=None)
@given(lat_cn, lon_cn, datums, st.floats(10, 2000), bearing, st.floats(0, 5000), st.floats(0.5, 500))
def test_a_fix_whose_circle_is_outside_is_never_reported_inside(lat, lon, datum, radius, b, extra, accuracy):
    fix = fix_from((lat, lon), datum, b, radius + accuracy + MARGIN + extra, accuracy)
    check = locate(fix, Circle(lat, lon, radius, datum), NO_LIMIT)
    assert check.verdict is Verdict.OUTSIDE
    assert check.distance_m > 0


@settings(max_examples=300, deadline=None)
@given(lat_cn, lon_cn, datums, st.floats(10, 2000), bearing, st.floats(0, 5000),
       st.floats(0.5, 500), st.floats(0, 2000))
def test_growing_the_accuracy_never_turns_outside_into_inside(lat, lon, datum, radius, b, metres, accuracy, growth):
    fence = Circle(lat, lon, radius, datum)
    small = locate(fix_from((lat, lon), datum, b, metres, accuracy), fence, NO_LIMIT)
    large = locate(fix_from((lat, lon), datum, b, metres, accuracy + growth), fence, NO_LIMIT)
    if small.verdict is Verdict.OUTSIDE:
        assert large.verdict is not Verdict.INSIDE
    if small.verdict is Verdict.INSIDE:
        assert large.verdict is not Verdict.OUTSIDE
    if large.verdict is Verdict.INSIDE:
        assert small.verdict is Verdict.INSIDE  # a sharper fix of an inside position stays inside


@st.composite
def star_polygons(draw):
    """A random star-shaped (so never self-crossing) polygon around a centre, in some datum."""
    centre = (draw(lat_cn), draw(lon_cn))
    n = draw(st.integers(3, 9))
    angles = sorted(draw(st.lists(st.floats(0, 360, exclude_max=True), min_size=n, max_size=n, unique=True)))
    gaps = [b - a for a, b in zip(angles, angles[1:] + [angles[0] + 360], strict=True)]
    if min(gaps) < 5 or max(gaps) > 150:  # keep the centre in the kernel: a simple outline
        angles = [i * 360 / n for i in range(n)]
    radii = draw(st.lists(st.floats(30, 800), min_size=n, max_size=n))
    points = tuple(geodesic.direct(*centre, a, r) for a, r in zip(angles, radii, strict=True))
    return centre, Polygon(points, draw(datums))


def _inside_ring(polygon: Polygon, lat: float, lon: float) -> bool:
    """Plain ray casting in degrees: an independent judge at this scale for points not near edges."""
    inside = False
    pts = polygon.points
    for (y1, x1), (y2, x2) in zip(pts, pts[1:] + pts[:1], strict=True):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


@settings(max_examples=200, deadline=None)
@given(star_polygons(), bearing, st.floats(0, 1200), st.floats(0.5, 200))
def test_polygon_verdicts_agree_with_points_on_the_accuracy_circle(poly, b, metres, accuracy):
    centre, polygon = poly
    fix = fix_from(centre, polygon.datum, b, metres, accuracy)
    check = locate(fix, polygon, NO_LIMIT)
    here = (check.lat, check.lon)
    # Sample the accuracy circle shrunk/grown by a margin so rounding at the edge cannot decide.
    if check.verdict is Verdict.INSIDE:
        ring = [geodesic.direct(*here, a, max(accuracy - MARGIN, 0)) for a in range(0, 360, 15)] + [here]
        assert all(_inside_ring(polygon, *p) for p in ring)
    if check.verdict is Verdict.OUTSIDE:
        ring = [geodesic.direct(*here, a, max(accuracy - MARGIN, 0)) for a in range(0, 360, 15)] + [here]
        assert not any(_inside_ring(polygon, *p) for p in ring)
    if check.verdict is Verdict.UNCERTAIN:
        assert abs(check.distance_m) < accuracy


@settings(max_examples=300, deadline=None)
@given(lat_cn, lon_cn, datums, datums)
def test_conversions_round_trip_within_a_millimetre(lat, lon, source, target):
    there = convert(lat, lon, source, target)
    back = convert(*there, target, source)
    assert distance_m(back, (lat, lon)) < 0.001


@settings(max_examples=300, deadline=None)
@given(lat_cn, lon_cn)
def test_the_gcj02_offset_is_real_but_bounded(lat, lon):
    d = distance_m((lat, lon), convert(lat, lon, Datum.WGS84, Datum.GCJ02))
    assert 1 < d < 1000
    assert not math.isnan(d)
