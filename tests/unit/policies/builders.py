"""Value builders shared by the policies tests."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

CST = timezone(timedelta(hours=8))  # Asia/Shanghai has no DST; a fixed offset keeps tests fast


def at(day: int, hour: int, minute: int = 0, month: int = 3, year: int = 2026) -> datetime:
    """A local (UTC+8) time in March 2026 unless told otherwise."""
    return datetime(year, month, day, hour, minute, tzinfo=CST)
