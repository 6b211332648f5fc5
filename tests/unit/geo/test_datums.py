"""Datum conversions against published reference pairs, and round trips."""
from __future__ import annotations

import pytest

from policies.geofence import (
    Datum,
    FixError,
    bd09_to_gcj02,
    convert,
    distance_m,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    wgs84_to_gcj02,
)

# (wgs lat, wgs lon, gcj lat, gcj lon) from the eviltransform test suite (googollee/eviltransform).
EVILTRANSFORM = [
    pytest.param(31.1774276, 121.5272106, 31.17530398364597, 121.531541859215, id="shanghai"),
    pytest.param(22.543847, 113.912316, 22.540796131694766, 113.9171764808363, id="shenzhen"),
    pytest.param(39.911954, 116.377817, 39.91334545536069, 116.38404722455657, id="beijing"),
]
# From the coordtransform (wandergis) family of test suites, input 116.404 E, 39.915 N.
COORD_IN = (39.915, 116.404)
COORD_WGS_TO_GCJ = (39.91640428150164, 116.41024449916938)
COORD_GCJ_TO_BD = (39.92133699351021, 116.41036949371029)
COORD_BD_TO_GCJ_CLOSED_FORM = (39.90865673957631, 116.39762729119315)
COORD_GCJ_TO_WGS_ONE_STEP = (39.91359571849836, 116.39775550083061)

DEG = 1e-9  # about 0.1 mm


@pytest.mark.parametrize("wlat, wlon, glat, glon", EVILTRANSFORM)
def test_wgs84_to_gcj02_matches_the_published_pairs(wlat, wlon, glat, glon):
    lat, lon = wgs84_to_gcj02(wlat, wlon)
    assert lat == pytest.approx(glat, abs=DEG)
    assert lon == pytest.approx(glon, abs=DEG)


@pytest.mark.parametrize("wlat, wlon, glat, glon", EVILTRANSFORM)
def test_gcj02_to_wgs84_inverts_exactly_not_by_the_one_step_shortcut(wlat, wlon, glat, glon):
    back = gcj02_to_wgs84(glat, glon)
    assert distance_m(back, (wlat, wlon)) < 0.01  # eviltransform's own exact bound is 0.5 m


def test_the_coordtransform_pairs_for_gcj02_and_bd09():
    assert wgs84_to_gcj02(*COORD_IN) == pytest.approx(COORD_WGS_TO_GCJ, abs=DEG)
    assert gcj02_to_bd09(*COORD_IN) == pytest.approx(COORD_GCJ_TO_BD, abs=DEG)


def test_bd09_to_gcj02_refines_the_closed_form_inverse_by_centimetres():
    # The published closed form is a first-order inverse; ours maps back onto the BD-09 input.
    ours = bd09_to_gcj02(*COORD_IN)
    assert distance_m(ours, COORD_BD_TO_GCJ_CLOSED_FORM) < 0.1
    assert distance_m(gcj02_to_bd09(*ours), COORD_IN) < 0.001


def _one_step(lat: float, lon: float) -> tuple[float, float]:
    """The shortcut many libraries use: subtract the offset computed at the GCJ-02 point."""
    f_lat, f_lon = wgs84_to_gcj02(lat, lon)
    return 2 * lat - f_lat, 2 * lon - f_lon


def test_the_published_one_step_gcj02_inverse_is_what_we_think_it_is():
    assert _one_step(*COORD_IN) == pytest.approx(COORD_GCJ_TO_WGS_ONE_STEP, abs=DEG)
    assert distance_m(gcj02_to_wgs84(*COORD_IN), COORD_GCJ_TO_WGS_ONE_STEP) < 0.5


def test_near_chongqing_the_one_step_inverse_is_a_metre_off_and_ours_is_exact():
    gcj = (29.5630, 106.5516)
    assert distance_m(wgs84_to_gcj02(*_one_step(*gcj)), gcj) > 0.5  # why the brief asks for iteration
    assert distance_m(wgs84_to_gcj02(*gcj02_to_wgs84(*gcj)), gcj) < 0.001


def test_eviltransforms_bd09_pairs_use_pi_instead_of_x_pi_so_we_do_not_follow_them():
    # eviltransform's BD-09 code multiplies by pi where Baidu's formula has x_pi = pi*3000/180;
    # its bd2wgs vectors are tens of metres from the standard formula. We follow the standard.
    bd = (29.199786, 120.019809)
    eviltransform_wgs = (29.196131605295484, 120.00877901149691)
    assert distance_m(convert(*bd, Datum.BD09, Datum.WGS84), eviltransform_wgs) > 5


def test_near_chongqing_the_offsets_are_hundreds_of_metres_more_than_a_fence():
    jiefangbei = (29.5576, 106.5770)
    gcj = convert(*jiefangbei, "wgs84", "gcj02")
    bd = convert(*jiefangbei, "wgs84", "bd09")
    assert 300 < distance_m(jiefangbei, gcj) < 700
    assert 800 < distance_m(jiefangbei, bd) < 1500


# The standard box is a rectangle (it contains Seoul and Singapore, for instance); venues are in
# mainland China, so only its edges far from any venue are crude.
@pytest.mark.parametrize("lat, lon", [(51.5007, -0.1246), (35.6586, 139.7454), (-33.8568, 151.2153), (0.5, 110.0)])
def test_outside_mainland_china_gcj02_equals_wgs84(lat, lon):
    assert out_of_china(lat, lon)
    assert wgs84_to_gcj02(lat, lon) == (lat, lon)
    assert gcj02_to_wgs84(lat, lon) == (lat, lon)


@pytest.mark.parametrize("source", list(Datum))
@pytest.mark.parametrize("target", list(Datum))
def test_every_pair_of_datums_round_trips_within_a_millimetre(source, target):
    there = convert(29.5630, 106.5516, source, target)
    back = convert(*there, target, source)
    assert distance_m(back, (29.5630, 106.5516)) < 0.001


def test_datums_accept_the_strings_the_server_stores_and_refuse_others():
    assert Datum.parse("GCJ02") is Datum.GCJ02
    assert Datum.parse(Datum.BD09) is Datum.BD09
    with pytest.raises(FixError) as e:
        Datum.parse("cgcs2000")
    assert e.value.code == "datum_unknown"


def test_an_unknown_datum_cites_the_datum_rule():
    with pytest.raises(FixError) as e:
        Datum.parse("mars")
    assert e.value.reason.clause == "POLICY §9"
