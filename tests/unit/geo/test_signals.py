"""fix_signals(): signs that a location is mocked or replayed, for review."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from policies.geofence import Datum, Fix, SignalSettings, convert, fix_signals
from tests.unit.geo import geodesic

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
HERE = (29.5630, 106.5516)


def moved(metres: float, accuracy: float = 10.0, bearing: float = 60.0) -> Fix:
    return Fix(*geodesic.direct(*HERE, bearing, metres), accuracy)


def codes(reasons) -> list[str]:
    return [r.code for r in reasons]


def test_a_normal_first_fix_raises_nothing():
    assert fix_signals(Fix(*HERE, 12.0), None, T0) == ()


def test_an_accuracy_of_exactly_zero_is_flagged():
    (reason,) = fix_signals(Fix(*HERE, 0.0), None, T0, SignalSettings(clause="cq 5.2"))
    assert reason.code == "accuracy_zero" and reason.clause == "cq 5.2"
    assert "模拟定位" in reason.detail


def test_coordinates_identical_to_the_previous_fix_to_the_last_digit_are_flagged():
    previous = (Fix(29.563012345678, 106.551612345678, 15.0), T0)
    same = Fix(29.563012345678, 106.551612345678, 12.0)
    assert codes(fix_signals(same, previous, T0 + timedelta(minutes=40))) == ["replayed_fix"]


def test_a_fix_a_few_centimetres_away_is_ordinary_jitter():
    previous = (Fix(29.563012345678, 106.551612345678, 15.0), T0)
    jitter = Fix(29.563012745678, 106.551612345678, 14.2)  # 4.4 cm north
    assert fix_signals(jitter, previous, T0 + timedelta(minutes=40)) == ()


@pytest.mark.parametrize("metres, minutes, flagged", [
    pytest.param(5_000, 10, False, id="30 km/h across town"),
    pytest.param(30_000, 10, False, id="180 km/h on the expressway"),
    pytest.param(40_000, 10, True, id="240 km/h"),
    pytest.param(300_000, 30, True, id="600 km/h, Chongqing to Chengdu in half an hour"),
    pytest.param(15, 0, False, id="jitter within the accuracy circles at the same moment"),
        pytest.param(500, 0, True, id="two places at the same moment"),
])
def test_impossible_travel_is_flagged_above_the_speed_limit(metres, minutes, flagged):
    previous = (Fix(*HERE, 10.0), T0)
    reasons = fix_signals(moved(metres), previous, T0 + timedelta(minutes=minutes))
    assert ("impossible_travel" in codes(reasons)) is flagged


def test_impossible_travel_names_the_distance_the_time_and_the_speed():
    previous = (Fix(*HERE, 10.0), T0)
    (reason,) = fix_signals(moved(300_000), previous, T0 + timedelta(minutes=30))
    assert reason.code == "impossible_travel"
    assert "约 300 公里" in reason.detail and "30 分钟" in reason.detail and "200 公里/小时" in reason.detail
    assert "600 公里/小时" in reason.detail


def test_the_speed_limit_is_a_setting():
    previous = (Fix(*HERE, 10.0), T0)
    later = T0 + timedelta(minutes=10)
    assert fix_signals(moved(20_000), previous, later) == ()
    assert codes(fix_signals(moved(20_000), previous, later, SignalSettings(max_speed_kmh=60))) == ["impossible_travel"]


def test_a_previous_fix_in_another_datum_is_compared_after_conversion():
    previous = (Fix(*convert(*HERE, Datum.WGS84, Datum.GCJ02), 10.0, Datum.GCJ02), T0)
    assert fix_signals(moved(3, accuracy=11.0), previous, T0 + timedelta(seconds=5)) == ()


def test_an_accuracy_of_a_few_centimetres_is_flagged_as_implausible():
    (reason,) = fix_signals(Fix(*HERE, 0.01), None, T0)
    assert reason.code == "accuracy_implausible" and "0.01 米" in reason.detail
    assert fix_signals(Fix(*HERE, 3.0), None, T0) == ()
    assert codes(fix_signals(Fix(*HERE, 4.0), None, T0, SignalSettings(min_accuracy_m=5))) == ["accuracy_implausible"]


def test_the_same_accuracy_on_the_last_three_fixes_is_flagged():
    previous = (moved(5, accuracy=12.0), T0)
    earlier = [moved(9, accuracy=12.0)]
    assert codes(fix_signals(moved(2, accuracy=12.0), previous, T0 + timedelta(minutes=5), earlier=earlier)) == [
        "accuracy_repeated"]
    assert fix_signals(moved(2, accuracy=12.5), previous, T0 + timedelta(minutes=5), earlier=earlier) == ()
    # Two in a row is not a run of three.
    assert fix_signals(moved(2, accuracy=12.0), previous, T0 + timedelta(minutes=5)) == ()


@pytest.mark.parametrize("label", [Datum.GCJ02, Datum.BD09])
def test_coordinates_repeated_under_another_datum_label_are_flagged(label):
    """The same place re-expressed in another datum, and the same digits relabelled."""
    earlier = [Fix(*HERE, 14.0)]
    previous = (moved(30, accuracy=9.0), T0)
    re_expressed = Fix(*convert(*HERE, Datum.WGS84, label), 11.0, label)
    relabelled = Fix(*HERE, 11.0, label)
    later = T0 + timedelta(hours=1)
    assert "replayed_fix" in codes(fix_signals(re_expressed, previous, later, earlier=earlier))
    assert "replayed_fix" in codes(fix_signals(relabelled, previous, later, earlier=earlier))


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        fix_signals(Fix(*HERE, 10.0), None, datetime(2026, 11, 24, 9, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        fix_signals(Fix(*HERE, 10.0), (Fix(*HERE, 10.0), datetime(2026, 11, 24, 9, 0)), T0)


def test_a_nonsense_speed_limit_is_refused():
    with pytest.raises(ValueError):
        SignalSettings(max_speed_kmh=0)
