"""Small builders so that each test reads like the timeline it describes (Beijing times)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import count

from policies.attendance import AttendanceEvent, Heartbeat, Playback, SpotCheck
from policies.model import Mode, PlannedLesson

BEIJING = timezone(timedelta(hours=8))
DAY = (2026, 11, 24)
_ids = count(1)


def t(hhmm: str) -> datetime:
    """"09:30" or "09:30:15" on the test day, Beijing time."""
    parts = [int(p) for p in hhmm.split(":")]
    return datetime(*DAY, *parts, tzinfo=BEIJING)


def lesson(start: str = "09:00", end: str = "11:00", mode: Mode = Mode.OFFLINE) -> PlannedLesson:
    return PlannedLesson(t(start), t(end), mode)


def ev(kind: str, at: str, verdict: str = "verified", id: str | None = None) -> AttendanceEvent:
    return AttendanceEvent(id or f"e{next(_ids)}", kind, t(at), verdict)


def review(decides: str, at: str, decision: str = "approved") -> AttendanceEvent:
    return AttendanceEvent(f"r{next(_ids)}", "review_decision", t(at), decides=decides, decision=decision)


def beats(start: str, end: str, every: int = 30, visible: bool = True) -> list[Heartbeat]:
    """Heartbeats every `every` seconds from start to end inclusive."""
    out, at, stop = [], t(start), t(end)
    while at <= stop:
        out.append(Heartbeat(at, visible))
        at += timedelta(seconds=every)
    return out


def spot(issued: str, answered_after: int | None = 20, passed: bool = True, id: str | None = None) -> SpotCheck:
    issued_at = t(issued)
    answered = None if answered_after is None else issued_at + timedelta(seconds=answered_after)
    return SpotCheck(id or f"s{next(_ids)}", issued_at, answered, passed and answered is not None)


def hm(at: datetime) -> str:
    local = at.astimezone(BEIJING)
    return local.strftime("%H:%M") if local.second == 0 else local.strftime("%H:%M:%S")


def spans(result) -> list[tuple[str, str]]:
    """The credited intervals as (start, end) Beijing clock times."""
    return [(hm(iv.start), hm(iv.end)) for iv in result.intervals]


def reasons(result) -> list[tuple[str, str, str]]:
    """The uncredited spans as (start, end, code)."""
    return [(hm(u.start), hm(u.end), u.reason.code) for u in result.uncredited]


def play(start: str, end: str, position: float = 0, state: str = "playing", rate: float = 1.0,
         every: int = 30, visible: bool = True) -> list[Heartbeat]:
    """Reports every `every` seconds from start to end inclusive; the position moves at `rate`
    while playing and stays put otherwise."""
    out, at, stop = [], t(start), t(end)
    while at <= stop:
        moved = (at - t(start)).total_seconds() * rate if state == "playing" else 0
        out.append(Heartbeat(at, visible, Playback(position + moved, state, rate)))
        at += timedelta(seconds=every)
    return out
