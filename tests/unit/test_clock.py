"""The one clock (server/clock.py): stored UTC, shown in the region's zone from its region file."""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from policies import loader
from server import clock


def test_the_local_date_is_beijings_not_utcs():
    assert clock.local_date(datetime(2026, 3, 30, 16, 30, tzinfo=UTC)) == date(2026, 3, 31)
    assert clock.local_date(datetime(2026, 3, 30, 15, 59, tzinfo=UTC)) == date(2026, 3, 30)


def test_a_regions_zone_comes_from_its_region_file():
    for code in loader.region_codes():
        assert clock.zone(code) == ZoneInfo(loader.load_region(code).timezone)


def test_the_deployment_zone_is_the_zone_every_shipped_region_names():
    # Where no region is at hand the deployment's zone is shown; it must not disagree with any region.
    assert {loader.load_region(code).timezone for code in loader.region_codes()} == {clock.DEPLOYMENT_ZONE.key}


def test_an_unknown_region_is_shown_in_the_deployment_zone():
    assert clock.zone("nowhere") == clock.DEPLOYMENT_ZONE


def test_utc_now_is_aware_and_utc():
    now = clock.utc_now()
    assert now.tzinfo is UTC


def test_a_local_wall_clock_time_is_the_instant_eight_hours_earlier_in_utc():
    assert clock.at_local(date(2026, 3, 2), time(9, 0), "cq").astimezone(UTC) == datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    assert clock.local(datetime(2026, 3, 2, 1, 0, tzinfo=UTC)).hour == 9
