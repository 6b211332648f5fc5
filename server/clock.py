"""The one clock: the current instant, and a region's local date and time.

Times are stored in UTC and shown in the region's time zone, which is data: the `timezone` of the
region file (policies/regions/*.yaml). Where no region is at hand (a user's lock-out time, a
deployment-wide "today" for duties and retention) the deployment's zone is used: the zone of its
regions, which today all say Asia/Shanghai, so there is one answer either way; a test keeps the
two in step. Use cases still take `now` as an argument (the clock is read at the edge: a handler,
a job, a command), so rules stay testable at any instant.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo

from policies import loader

#: The zone shown where no region is known; every region file we ship names it (tests/unit/test_clock.py).
DEPLOYMENT_ZONE = ZoneInfo("Asia/Shanghai")


def utc_now() -> datetime:
    """The current instant, timezone-aware, in UTC (how every time is stored)."""
    return datetime.now(UTC)


@cache
def zone(region: str | None = None) -> ZoneInfo:
    """The time zone a region's times are shown in: its region file's `timezone`, or the
    deployment's zone when no region is given or the region is unknown here."""
    if region is None:
        return DEPLOYMENT_ZONE
    try:
        return ZoneInfo(loader.load_region(region).timezone)
    except (KeyError, FileNotFoundError, ValueError):
        return DEPLOYMENT_ZONE


def local(at: datetime, region: str | None = None) -> datetime:
    """`at` (aware) as the region's wall-clock time."""
    return at.astimezone(zone(region))


def local_date(at: datetime, region: str | None = None) -> date:
    """The region's calendar date at the instant `at`: a day in China starts at 16:00 UTC."""
    return at.astimezone(zone(region)).date()


def at_local(day: date, clock_time: time, region: str | None = None) -> datetime:
    """The instant of a local date and wall-clock time in the region (aware, in its zone)."""
    return datetime.combine(day, clock_time, zone(region))
