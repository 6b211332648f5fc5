"""The room code (课堂码) of an offline lesson: six digits on the teacher's screen or projector,
changing every 15 s, that a check-in must carry. A mock location can put a phone inside the
fence; it cannot see the screen. Only a person in the room (or an accomplice there) can read it.

The codes are RFC 6238 time-based one-time codes (pyotp), each lesson with its own key derived
from the deployment's SECRET_KEY: nothing is stored, every worker computes the same code, and a
code of one lesson says nothing about another's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp

#: seconds each code is shown
INTERVAL_S = 15
#: a code is accepted while it is shown and for this many windows after (up to 60 s old): the
#: trainee reads it, types it, performs the face burst (6 s) and the upload may be slow.
GRACE_WINDOWS = 3
#: how far back a code is recognised as this lesson's old code (for the evidence and the message:
#: "stale", not "wrong"): an hour.
LOOKBACK_WINDOWS = 240
DIGITS = 6


def _totp(secret_key: str, lesson_id: int) -> pyotp.TOTP:
    if not secret_key:
        raise ValueError("no SECRET_KEY: room codes cannot be made or checked")
    key = hmac.new(secret_key.encode(), f"hourproof/room-code/v1/lesson/{lesson_id}".encode(), hashlib.sha256).digest()
    return pyotp.TOTP(base64.b32encode(key).decode(), digits=DIGITS, interval=INTERVAL_S)


@dataclass(frozen=True)
class Shown:
    code: str
    valid_from: datetime
    changes_at: datetime


def shown(secret_key: str, lesson_id: int, now: datetime) -> Shown:
    """The code the teacher's screen shows now, and when it changes."""
    step = int(now.timestamp()) // INTERVAL_S
    start = datetime.fromtimestamp(step * INTERVAL_S, tz=now.tzinfo)
    return Shown(_totp(secret_key, lesson_id).at(start), start, start + timedelta(seconds=INTERVAL_S))


@dataclass(frozen=True)
class Judged:
    """What a typed code is: `ok` (shown now or within the grace), `stale` (this lesson's, but
    older), `wrong` (not this lesson's code in the last hour: mistyped, or another lesson's), or
    `missing`. `age_s`: how long ago the matching code stopped being shown (0 while shown)."""

    status: str
    age_s: int | None = None


def judge(secret_key: str, lesson_id: int, typed: str | None, now: datetime) -> Judged:
    code = "".join((typed or "").split())
    if not code:
        return Judged("missing")
    totp = _totp(secret_key, lesson_id)
    step = int(now.timestamp()) // INTERVAL_S
    for back in range(LOOKBACK_WINDOWS + 1):
        # compare_digest: the comparison takes the same time however many digits match
        if hmac.compare_digest(totp.at((step - back) * INTERVAL_S), code):
            age = 0 if back == 0 else int(now.timestamp()) - (step - back + 1) * INTERVAL_S
            return Judged("ok" if back <= GRACE_WINDOWS else "stale", age)
    return Judged("wrong")


def for_teacher(session, actor, lesson_id: int, now: datetime, secret_key: str, open_before: timedelta,
                close_after: timedelta) -> dict:
    """The code for the teacher's screen: only to the teaching side of the lesson's own
    institution, only for an offline lesson of a class that requires one, only while the lesson
    can be checked in to (a code shown in advance could be sent round)."""
    from server.errors import ApiError
    from server.models import LessonMode
    from server.permissions import Capability
    from server.services.scope import require, visible_lesson

    lesson, cls = visible_lesson(session, actor, lesson_id)
    require(actor, Capability.SHOW_ROOM_CODES)
    if lesson.mode is not LessonMode.offline or not cls.room_code:
        raise ApiError(422, "no_room_code", "本课次不使用课堂码（只有要求课堂码的培训班的线下课次才有）")
    if not lesson.starts_at - open_before <= now <= lesson.ends_at + close_after:
        raise ApiError(409, "lesson_not_in_session", "课堂码只在签到开放到签退结束之间显示，请在上课时打开本页")
    code = shown(secret_key, lesson.id, now)
    return {"lesson_id": lesson.id, "code": code.code, "valid_from": code.valid_from.isoformat(),
            "changes_at": code.changes_at.isoformat(), "interval_s": INTERVAL_S,
            "accepted_for_s": INTERVAL_S * (GRACE_WINDOWS + 1)}
