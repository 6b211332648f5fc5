"""Recorded lessons (录播课): credit only the content newly watched, at 1x, playing, page visible.

Lesson 09:00-11:00 online, judged at 12:00, a one-hour video unless told otherwise. The page
reports every 30 s with the player's position, state and rate.
"""
from __future__ import annotations

import math
import random
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.attendance import (
    AttendanceError,
    AttendanceEvent,
    Heartbeat,
    LiveMedia,
    Playback,
    RecordedMedia,
    SpotCheck,
    credit_lesson,
    online_credit,
)
from policies.model import Mode, PlannedLesson
from tests.unit.attendance.builders import beats, ev, lesson, play, reasons, spans, t

ONLINE = lesson(mode=Mode.ONLINE)
HOUR = RecordedMedia(3600)
SESSION = [ev("check_in", "09:00"), ev("check_out", "10:00")]


def credit(heartbeats, events=SESSION, media=HOUR, now: str = "12:00"):
    return online_credit(ONLINE, events, heartbeats, [], t(now), media=media)


def test_watching_a_recorded_lesson_at_1x_credits_the_time_watched():
    result = credit(play("09:00", "10:00"))
    assert spans(result) == [("09:00", "10:00")]
    assert result.credited_seconds == 3600
    assert reasons(result) == [("10:00", "11:00", "checked_out")]


def test_reports_a_little_behind_the_clock_credit_only_the_content_that_played():
    # The video moves 29 s in each 30 s: a stall within the tolerance, not a seek.
    reports = [Heartbeat(t("09:00") + timedelta(seconds=30 * i), True, Playback(29.0 * i, "playing", 1.0))
               for i in range(121)]
    result = credit(reports)
    assert result.credited_seconds == pytest.approx(120 * 29)
    assert {code for _, _, code in reasons(result)} == {"paused", "checked_out"}


def test_seeking_ahead_is_not_credited_and_coming_back_to_the_furthest_point_resumes_credit():
    # 20 minutes watched (up to 20:00 in the video), a jump to 40:00 and ten minutes played there,
    # then back to 20:00 and on to the end of the session.
    heartbeats = play("09:00", "09:20") + play("09:20:30", "09:30", position=2400) + play("09:30:30", "10:00", position=1200)
    result = credit(heartbeats)
    assert spans(result) == [("09:00", "09:20"), ("09:30:30", "10:00")]
    assert reasons(result) == [("09:20", "09:30", "seek_ahead"), ("09:30", "09:30:30", "seek"),
                               ("10:00", "11:00", "checked_out")]
    assert result.credited_seconds == 20 * 60 + 29.5 * 60
    seek_ahead = result.uncredited[0].reason
    assert seek_ahead.clause == "POLICY §9"
    assert "跳过未观看的内容" in seek_ahead.detail and "20:00" in seek_ahead.detail


def test_playing_at_2x_credits_nothing():
    result = credit(play("09:00", "09:30", rate=2.0), events=[ev("check_in", "09:00"), ev("check_out", "09:30")])
    assert spans(result) == []
    assert result.credited_seconds == 0
    assert reasons(result) == [("09:00", "09:30", "playback_rate"), ("09:30", "11:00", "checked_out")]
    assert result.uncredited[0].reason.detail == "只有1倍速播放计入学时，以 2 倍速播放的时间不计入"


def test_content_skimmed_at_2x_is_not_watched_so_going_on_from_there_at_1x_is_a_seek_ahead():
    heartbeats = play("09:00", "09:10", rate=2.0) + play("09:10:30", "10:00", position=1230)
    result = credit(heartbeats)
    assert spans(result) == []
    assert reasons(result) == [("09:00", "09:10:30", "playback_rate"), ("09:10:30", "10:00", "seek_ahead"),
                               ("10:00", "11:00", "checked_out")]


def test_replaying_a_watched_part_credits_nothing_the_second_time():
    # 0:00-20:00 watched, back to the start, 0:00-20:00 again, then on to 39:30.
    heartbeats = play("09:00", "09:20") + play("09:20:30", "10:00", position=0)
    result = credit(heartbeats)
    assert spans(result) == [("09:00", "09:20"), ("09:40:30", "10:00")]
    assert reasons(result) == [("09:20", "09:20:30", "seek"), ("09:20:30", "09:40:30", "replayed"),
                               ("10:00", "11:00", "checked_out")]
    # Each minute of the video once: 0:00-20:00 and 20:00-39:30.
    assert result.credited_seconds == 20 * 60 + 19.5 * 60
    assert result.uncredited[1].reason.detail == "已观看过的内容重复播放不重复计入"


def test_paused_time_is_not_credited():
    heartbeats = play("09:00", "09:10") + play("09:10:30", "09:20", position=600, state="paused") \
        + play("09:20:30", "10:00", position=600)
    result = credit(heartbeats)
    assert spans(result) == [("09:00", "09:10"), ("09:20:30", "10:00")]
    assert reasons(result) == [("09:10", "09:20:30", "paused"), ("10:00", "11:00", "checked_out")]
    assert result.credited_seconds == 600 + 39.5 * 60


def test_buffering_counts_as_not_playing():
    heartbeats = play("09:00", "09:30") + play("09:30:30", "09:35", position=1800, state="buffering") \
        + play("09:35:30", "10:00", position=1800)
    result = credit(heartbeats)
    assert spans(result) == [("09:00", "09:30"), ("09:35:30", "10:00")]
    assert reasons(result)[0] == ("09:30", "09:35:30", "paused")


def test_credit_never_exceeds_the_videos_duration():
    # A 20-minute video: played to its end, then left on "ended" for the rest of the session.
    short = RecordedMedia(1200)
    ended = credit(play("09:00", "09:20") + play("09:20:30", "10:00", position=1200, state="ended"), media=short)
    assert spans(ended) == [("09:00", "09:20")]
    assert ended.credited_seconds == 1200
    assert reasons(ended)[0] == ("09:20", "10:00", "paused")
    # A player that reports positions past the end while "playing" gains nothing either.
    overrun = credit(play("09:00", "10:00"), media=short)
    assert spans(overrun) == [("09:00", "09:20")]
    assert overrun.credited_seconds == 1200


def test_media_none_keeps_todays_result_for_the_same_heartbeats():
    heartbeats = play("09:00", "09:10", rate=2.0) + play("09:10:30", "09:30", position=3000) \
        + play("09:30:30", "10:00", position=0, state="paused")
    plain = [Heartbeat(hb.at, hb.visible) for hb in heartbeats]
    today = credit(plain, media=None)
    assert credit(heartbeats, media=None) == today
    assert spans(today) == [("09:00", "10:00")]
    assert credit_lesson(ONLINE, SESSION, t("12:00"), heartbeats=heartbeats) == today
    # The same reports on a recorded lesson: nothing of it was watching at 1x from 0:00.
    assert credit(heartbeats).credited_seconds == 0


def test_heartbeats_without_playback_on_a_recorded_lesson_are_not_watching():
    result = credit(beats("09:00", "10:00"))
    assert spans(result) == []
    assert reasons(result) == [("09:00", "10:00", "not_watched"), ("10:00", "11:00", "checked_out")]
    assert result.uncredited[0].reason.detail == "未在本页观看课程视频，这段时间不计入"
    assert result.uncredited[0].claimed


def test_a_hidden_page_while_playing_is_labelled_hidden_once_and_playing_on_afterwards_is_not_a_seek():
    heartbeats = play("09:00", "09:20") + play("09:20:30", "09:30", position=1230, visible=False) \
        + play("09:30:30", "10:00", position=1830)
    result = credit(heartbeats)
    # The video played on while hidden: not credited, but the trainee did not skip, so what
    # follows counts.
    assert spans(result) == [("09:00", "09:20"), ("09:30:30", "10:00")]
    assert reasons(result) == [("09:20", "09:30:30", "page_hidden"), ("10:00", "11:00", "checked_out")]


def test_content_played_while_the_page_was_hidden_is_made_up_by_watching_it_again():
    # 20:00-30:30 of the video played while hidden (not credited); at 09:40 the trainee goes back
    # to 20:00 and watches it again, visible: that time counts, and 30:30-... was credited already.
    heartbeats = play("09:00", "09:20") + play("09:20:30", "09:30", position=1230, visible=False) \
        + play("09:30:30", "09:40", position=1830) + play("09:40:30", "09:51", position=1200)
    result = credit(heartbeats)
    assert spans(result) == [("09:00", "09:20"), ("09:30:30", "09:40"), ("09:40:30", "09:51")]
    assert result.credited_seconds == pytest.approx(20 * 60 + 9.5 * 60 + 10.5 * 60)
    assert ("09:40", "09:40:30", "seek") in reasons(result)


def test_content_credited_once_is_not_credited_again_when_replayed():
    heartbeats = play("09:00", "09:10") + play("09:10:30", "09:20", position=0)
    result = credit(heartbeats)
    assert spans(result) == [("09:00", "09:10")]
    assert ("09:10:30", "09:20", "replayed") in reasons(result)


def test_credit_lesson_passes_the_recorded_video_on():
    result = credit_lesson(ONLINE, SESSION, t("12:00"), heartbeats=play("09:00", "10:00"), media=RecordedMedia(1800))
    assert spans(result) == [("09:00", "09:30")]
    assert result.credited_seconds == 1800


@pytest.mark.parametrize("build, message", [
    pytest.param(lambda: Playback(-1, "playing", 1), ">= 0", id="negative position"),
    pytest.param(lambda: Playback(math.nan, "playing", 1), "finite", id="position not a number"),
    pytest.param(lambda: Playback(math.inf, "playing", 1), "finite", id="infinite position"),
    pytest.param(lambda: Playback("12", "playing", 1), "finite", id="position a string"),
    pytest.param(lambda: Playback(True, "playing", 1), "finite", id="position a bool"),
    pytest.param(lambda: Playback(0, "stopped", 1), "state", id="unknown state"),
    pytest.param(lambda: Playback(0, None, 1), "state", id="no state"),
    pytest.param(lambda: Playback(0, "playing", 0), "> 0", id="zero rate"),
    pytest.param(lambda: Playback(0, "playing", -1), "> 0", id="negative rate"),
    pytest.param(lambda: Playback(0, "playing", math.inf), "finite", id="infinite rate"),
    pytest.param(lambda: Heartbeat(t("10:00"), True, "playing"), "Playback", id="playback not a Playback"),
    pytest.param(lambda: RecordedMedia(0), "> 0", id="empty video"),
    pytest.param(lambda: RecordedMedia(math.nan), "finite", id="duration not a number"),
    pytest.param(lambda: credit([], media=3600), "RecordedMedia", id="media not a RecordedMedia"),
    pytest.param(lambda: credit_lesson(lesson(), [], t("12:00"), media=HOUR), "offline", id="offline lesson with a video"),
])
def test_playback_input_that_cannot_be_judged_is_refused(build, message):
    with pytest.raises(AttendanceError, match=message):
        build()


def test_a_valid_playback_keeps_its_figures_as_floats():
    assert Playback(12, "paused", 1) == Playback(12.0, "paused", 1.0)
    assert Heartbeat(t("10:00"), True).playback is None


STATES = ("playing", "paused", "buffering", "ended")


@st.composite
def recorded_cases(draw):
    """A recorded online lesson: a session or two, heartbeats with gaps and hidden stretches, spot
    checks, and the player's reports along the heartbeats: mostly 1x, sometimes stalled, sped up,
    paused, seeking anywhere (even past the end) or rewinding; it stops while the page is offline."""
    start = t("09:00")
    length = draw(st.integers(20, 120))
    lesson_ = PlannedLesson(start, start + timedelta(minutes=length), Mode.ONLINE)
    offsets = draw(st.lists(st.integers(-5 * 60, (length + 5) * 60), unique=True, min_size=1, max_size=4))
    events = [AttendanceEvent(f"e{i}", draw(st.sampled_from(("check_in", "check_in", "check_out"))),
                              start + timedelta(seconds=s), draw(st.sampled_from(("verified",) * 4 + ("rejected",))))
              for i, s in enumerate(offsets)]
    checks = []
    for i, s in enumerate(draw(st.lists(st.integers(0, length * 60), unique=True, max_size=3))):
        issued = start + timedelta(seconds=s, milliseconds=500)
        checks.append(SpotCheck(f"s{i}", issued, issued + timedelta(seconds=20), draw(st.booleans())))
    rnd = random.Random(draw(st.integers(0, 2**32)))
    duration = rnd.choice((60, 600, 3600, 4 * 3600))
    odd = rnd.choice((0.0, 0.1, 1.0))  # how often the player or the page does something other than 1x, visible
    reports, at, position, last = [], start - timedelta(minutes=5), 0.0, None
    while at <= lesson_.end + timedelta(minutes=5):
        if last is not None and at - last <= timedelta(seconds=45):
            speed = rnd.choice((0.97, 1.03, 2.0, 0.0)) if rnd.random() < 0.25 * odd else 1.0
            position += (at - last).total_seconds() * speed
        if rnd.random() < 0.02 * odd:
            position = rnd.uniform(0, duration * 1.1)
        elif rnd.random() < 0.04 * odd:
            position = rnd.uniform(0, position)
        state = rnd.choice(STATES) if rnd.random() < 0.1 * odd else "playing"
        rate = rnd.choice((1.5, 2.0)) if rnd.random() < 0.05 * odd else 1.0
        playback = None if rnd.random() < 0.05 * odd else Playback(position, state, rate)
        reports.append(Heartbeat(at, rnd.random() >= 0.1 * odd, playback))
        last, at = at, at + timedelta(seconds=rnd.choice((10, 30, 30, 30, 30, 30, 30, 44, 60)))
    now = max([lesson_.end + timedelta(minutes=30)] + [r.at for r in reports])
    return lesson_, events, reports, checks, now, RecordedMedia(duration)


@settings(max_examples=150, deadline=None)
@given(recorded_cases())
def test_recorded_credit_is_well_formed_within_todays_credit_and_never_over_the_video(case):
    lesson_, events, reports, checks, now, media = case
    today = online_credit(lesson_, events, reports, checks, now)
    recorded = online_credit(lesson_, events, reports, checks, now, media=media)
    ivs = recorded.intervals
    # Sorted, disjoint, inside the lesson; with the uncredited spans, every moment once.
    assert all(a.end < b.start for a, b in zip(ivs, ivs[1:], strict=False))
    assert all(lesson_.start <= iv.start < iv.end <= lesson_.end for iv in ivs)
    inside = sorted([(iv.start, iv.end) for iv in ivs]
                    + [(u.start, u.end) for u in recorded.uncredited if u.reason.code != "outside_lesson_time"])
    assert inside[0][0] == lesson_.start and inside[-1][1] == lesson_.end
    assert all(a[1] == b[0] for a, b in zip(inside, inside[1:], strict=False))
    # Never more than the video, and only inside what today's rule credits.
    assert recorded.credited_seconds <= media.duration + 1e-3
    assert all(any(a.start <= iv.start and iv.end <= a.end for a in today.intervals) for iv in ivs)
    assert all(u.reason.clause == "POLICY §9" and u.claimed for u in recorded.uncredited
               if u.reason.code in {"paused", "playback_rate", "seek_ahead", "seek", "replayed", "not_watched"})


# --- live streams ---------------------------------------------------------------------------------


def live(start: str, end: str, lag: float | None = 8.0, state: str = "playing", visible: bool = True) -> list[Heartbeat]:
    out, at, stop = [], t(start), t(end)
    while at <= stop:
        out.append(Heartbeat(at, visible, Playback((at - t("09:00")).total_seconds(), state, 1.0, lag)))
        at += timedelta(seconds=30)
    return out


def test_a_live_stream_watched_at_the_live_edge_credits_the_time_and_falling_behind_does_not():
    heartbeats = live("09:00", "09:20") + live("09:20:30", "09:30", lag=600) + live("09:30:30", "10:00")
    result = credit(heartbeats, media=LiveMedia())
    assert spans(result) == [("09:00", "09:20"), ("09:30:30", "10:00")]
    behind = [u for u in result.uncredited if u.reason.code == "behind_live"]
    assert [(u.start, u.end) for u in behind] == [(t("09:20"), t("09:30:30"))]
    assert "落后直播 600 秒" in behind[0].reason.detail and behind[0].reason.clause == "POLICY §9"


def test_a_live_stream_paused_or_without_its_lag_credits_nothing():
    paused = credit(live("09:00", "10:00", state="paused"), media=LiveMedia())
    assert spans(paused) == [] and {c for _, _, c in reasons(paused)} == {"paused", "checked_out"}
    unknown = credit(live("09:00", "10:00", lag=None), media=LiveMedia())
    assert spans(unknown) == [] and {c for _, _, c in reasons(unknown)} == {"not_watched", "checked_out"}


def test_bad_live_input_is_refused():
    with pytest.raises(AttendanceError, match="live lag"):
        Playback(0, "playing", 1, -1)
    with pytest.raises(AttendanceError, match="live max lag"):
        LiveMedia(0)


def test_the_furthest_point_is_where_playing_on_at_1x_reached_not_where_a_seek_jumped():
    from policies.attendance import furthest_watched

    watched = play("09:00", "09:10")  # 0:00 to 10:00
    jumped = [Heartbeat(t("09:10:30"), True, Playback(3000, "playing"))]  # dragged to 50:00
    assert furthest_watched(watched, 3600) == 600
    assert furthest_watched(watched + jumped, 3600) == 600
    assert furthest_watched(play("09:00", "09:10", rate=2.0), 3600) == 0  # at 2x nothing counts
    assert furthest_watched(play("09:00", "11:00"), 3600) == 3600  # never past the end
