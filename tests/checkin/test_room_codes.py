"""The room code's clock: what a code typed some seconds after the screen showed it is."""
from datetime import UTC, datetime, timedelta

from server.services import room_codes

KEY = "a-deployment-secret"
NOON = datetime(2026, 12, 7, 4, 0, 7, tzinfo=UTC)


def test_a_code_is_accepted_while_shown_and_for_a_minute_after_then_is_stale():
    shown = room_codes.shown(KEY, 7, NOON)
    assert shown.changes_at - shown.valid_from == timedelta(seconds=15) and shown.valid_from <= NOON < shown.changes_at
    assert room_codes.judge(KEY, 7, shown.code, NOON) == room_codes.Judged("ok", 0)
    last_accepted = shown.changes_at + timedelta(seconds=45) - timedelta(milliseconds=1)
    assert room_codes.judge(KEY, 7, shown.code, last_accepted).status == "ok"
    assert room_codes.judge(KEY, 7, shown.code, shown.changes_at + timedelta(seconds=45)) == room_codes.Judged("stale", 45)
    assert room_codes.judge(KEY, 7, shown.code, NOON + timedelta(hours=2)).status == "wrong"  # beyond the lookback


def test_codes_differ_by_lesson_by_key_and_by_window():
    codes = {room_codes.shown(k, lesson, NOON + timedelta(seconds=15 * w)).code
             for k in (KEY, "another-deployment") for lesson in (7, 8) for w in range(3)}
    assert len(codes) == 12 and all(len(c) == 6 and c.isdigit() for c in codes)
    assert room_codes.judge(KEY, 8, room_codes.shown(KEY, 7, NOON).code, NOON).status == "wrong"
    assert room_codes.judge(KEY, 7, "  ", NOON).status == "missing"


def test_without_a_secret_key_no_code_is_made_or_accepted():
    import pytest

    with pytest.raises(ValueError):
        room_codes.judge("", 7, "123456", NOON)
