"""What the live dashboard shows: who may hear what (rooms), the message for an event, a
snapshot of the classes in session, and a lesson's roll with its evidence.

Rooms follow the scopes of services/scope.py, so a Socket.IO message reaches exactly the people
who could have read the same thing through the API:
    all                 the administrator
    city:<id>           city reviewers of that city
    district:<id>       district supervisors (区县人社) of that district
    institution:<id>    institution administrators and teachers of that institution
    trainee:<id>        the trainee's own phone (spot checks pushed to it)
A message about a class goes to the rooms of every scope that contains it; a client in several
of them still receives it once (Socket.IO merges the recipients of a list of rooms).

Every message about an event carries ``cursor`` (the event's id, increasing across the whole
deployment): a dashboard that reconnects asks the snapshot for everything after the last cursor
it saw, so a dropped connection loses nothing.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from policies import geofence
from server.adapters.filestore import EvidenceStore
from server.errors import ApiError
from server.models import District, Enrollment, Event, Lesson, LessonMode, Role, SpotCheck, Trainee, TrainingClass, Venue
from server.permissions import Capability, allows
from server.services import audit, retention
from server.services.scope import Actor, classes_query, visible_class

#: a lesson counts as "in session" on the dashboard this long before its start and after its end
#: (check-in opens early and check-out closes late).
SESSION_MARGIN = timedelta(minutes=30)
#: the most events a snapshot replays after a cursor (a dashboard offline longer reloads).
REPLAY_LIMIT = 500
#: alerts shown on a first load (no cursor yet)
RECENT_ALERTS = 50


def rooms_for(actor: Actor) -> list[str]:
    """The rooms a Socket.IO connection of this actor joins: its scope's room if it may watch the
    live dashboard, the trainee's own room if it attends lessons (spot checks are pushed to the
    phone); none otherwise (server/permissions.py decides which, the scope decides the room)."""
    rooms: list[str] = []
    if allows(actor.role, Capability.WATCH_LIVE):
        match actor.role:
            case Role.admin:
                rooms.append("all")
            case Role.city_reviewer:
                rooms.append(f"city:{actor.city_id}")
            case Role.district_supervisor:
                rooms.append(f"district:{actor.district_id}")
            case Role.institution_admin | Role.teacher:
                rooms.append(f"institution:{actor.institution_id}")
    if allows(actor.role, Capability.ATTEND_LESSONS):
        rooms.append(f"trainee:{actor.trainee_id}")
    return rooms


def class_rooms(session: Session, cls: TrainingClass) -> list[str]:
    city_id = session.scalars(select(District.city_id).where(District.id == cls.district_id)).one()
    return _rooms_of(city_id, cls)


def _rooms_of(city_id: int, cls: TrainingClass) -> list[str]:
    return ["all", f"city:{city_id}", f"district:{cls.district_id}", f"institution:{cls.institution_id}"]


def _alert_of(event: Event) -> str | None:
    if event.verdict == "rejected":
        return "rejected"
    if event.verdict == "flagged":
        return "flagged"
    return None


def event_message(event: Event, cls: TrainingClass, trainee_name: str | None) -> dict[str, Any]:
    """What the dashboard hears about one event (no biometric data: the frames stay behind the
    evidence endpoint, which checks scope and records the access)."""
    face = (event.evidence or {}).get("face") or {}
    fence = (event.evidence or {}).get("fence") or {}
    return {
        "cursor": event.id, "event_id": event.id, "kind": event.kind, "verdict": event.verdict,
        "at": event.at.isoformat(), "class_id": cls.id, "class_name": cls.name, "lesson_id": event.lesson_id,
        "institution_id": cls.institution_id, "district_id": cls.district_id,
        "trainee_id": event.trainee_id, "trainee_name": trainee_name,
        "reasons": [{"code": r.get("code"), "detail": r.get("detail"), "clause": r.get("clause")} for r in event.reasons or []],
        "face_distance": face.get("best_distance"), "face_threshold": face.get("threshold"),
        "distance_to_venue_m": fence.get("distance_m"), "decides_event_id": event.decides_event_id,
        "alert": _alert_of(event),
    }


def message_for_event(session: Session, event_id: int, now: datetime) -> tuple[list[str], dict[str, Any]]:
    """The rooms and the message for a stored event, with its lesson's counts after it: counted
    once here, for every watcher, instead of each dashboard asking for a new snapshot.

    Two statements (the event with its class, trainee name and city; then the counts): this runs
    after every check-in, and it was nine."""
    event, cls, name, city_id = session.execute(
        select(Event, TrainingClass, Trainee.name, District.city_id)
        .join(TrainingClass, TrainingClass.id == Event.class_id)
        .join(District, District.id == TrainingClass.district_id)
        .outerjoin(Trainee, Trainee.id == Event.trainee_id)
        .where(Event.id == event_id)).one()
    message = event_message(event, cls, name)
    message["lesson_counts"] = lesson_counts(session, [(event.lesson_id, cls.id)], now)[event.lesson_id]
    return _rooms_of(city_id, cls), message


def lesson_counts(session: Session, lessons: list[tuple[int, int]], now: datetime) -> dict[int, dict[str, int]]:
    """The dashboard's counters of each (lesson id, class id), in one statement for all of them
    (scalar subqueries per lesson: the snapshot of a district with many lessons in session was
    four queries per lesson)."""
    counts: dict[int, dict[str, int]] = {}
    for i in range(0, len(lessons), COUNTS_PER_STATEMENT):
        counts.update(_counts_of(session, lessons[i:i + COUNTS_PER_STATEMENT], now))
    return counts


#: lessons counted per statement: 6 columns each, well under SQLite's 2,000 result columns
COUNTS_PER_STATEMENT = 50


def _counts_of(session: Session, lessons: list[tuple[int, int]], now: datetime) -> dict[int, dict[str, int]]:
    answered = select(Event.id).where(Event.spot_check_id == SpotCheck.id).exists()
    columns = []
    for lesson_id, class_id in lessons:
        not_decision = (Event.lesson_id == lesson_id) & Event.decides_event_id.is_(None)
        columns += [
            select(func.count()).select_from(Enrollment).where(Enrollment.class_id == class_id).scalar_subquery(),
            select(func.count(func.distinct(Event.trainee_id))).where(
                Event.lesson_id == lesson_id, Event.kind == "check_in", Event.verdict == "verified").scalar_subquery(),
            *(select(func.count()).select_from(Event).where(not_decision, Event.verdict == verdict).scalar_subquery()
              for verdict in ("verified", "rejected", "flagged")),
            select(func.count()).select_from(SpotCheck).where(
                SpotCheck.lesson_id == lesson_id, SpotCheck.due_at < now, ~answered).scalar_subquery(),
        ]
    row = session.execute(select(*columns)).one()
    names = ("enrolled", "checked_in", "verified", "rejected", "flagged", "spot_checks_missed")
    return {lesson_id: {k: int(v or 0) for k, v in zip(names, row[i * len(names):(i + 1) * len(names)], strict=True)}
            for i, (lesson_id, _class_id) in enumerate(lessons)}


def _missed_spot_checks(session: Session, lesson_ids: list[int], now: datetime) -> list[dict]:
    if not lesson_ids:
        return []
    answered = select(Event.id).where(Event.spot_check_id == SpotCheck.id).exists()
    rows = session.execute(
        select(SpotCheck, Trainee.name, TrainingClass.name).join(Trainee, Trainee.id == SpotCheck.trainee_id)
        .join(TrainingClass, TrainingClass.id == SpotCheck.class_id)
        .where(SpotCheck.lesson_id.in_(lesson_ids), SpotCheck.due_at < now, ~answered)
        .order_by(SpotCheck.due_at.desc()).limit(100)).all()
    return [{"alert": "spot_check_missed", "spot_check_id": c.id, "lesson_id": c.lesson_id, "class_id": c.class_id,
             "class_name": cname, "trainee_id": c.trainee_id, "trainee_name": tname, "due_at": c.due_at.isoformat()}
            for c, tname, cname in rows]


def snapshot(session: Session, actor: Actor, now: datetime, since: int | None, institution_id: int | None = None) -> dict:
    """The classes in session now in the actor's scope with their counts, unanswered spot checks
    past their time, and the events after the cursor ``since``, oldest first (without a cursor:
    the latest alerts of the lessons in session)."""
    if not allows(actor.role, Capability.WATCH_LIVE):
        raise ApiError(403, "forbidden", "您的角色无权查看监管看板")
    scoped = classes_query(actor)
    if institution_id is not None:
        scoped = scoped.where(TrainingClass.institution_id == institution_id)
    classes = {c.id: c for c in session.scalars(scoped)}
    lessons = list(session.scalars(select(Lesson).where(
        Lesson.class_id.in_(list(classes)), Lesson.cancelled_at.is_(None),
        Lesson.starts_at <= now + SESSION_MARGIN, Lesson.ends_at >= now - SESSION_MARGIN).order_by(Lesson.starts_at)))
    counts = lesson_counts(session, [(lesson.id, lesson.class_id) for lesson in lessons], now)
    in_session = []
    for lesson in lessons:
        cls = classes[lesson.class_id]
        in_session.append({
            "lesson_id": lesson.id, "class_id": cls.id, "class_name": cls.name, "institution_id": cls.institution_id,
            "district_id": cls.district_id, "mode": lesson.mode.value, "title": lesson.title,
            "starts_at": lesson.starts_at.isoformat(), "ends_at": lesson.ends_at.isoformat(),
            "running": lesson.starts_at <= now <= lesson.ends_at, **counts[lesson.id],
        })
    events: list[dict] = []
    latest = session.scalar(select(func.max(Event.id)).where(Event.class_id.in_(list(classes)))) or 0
    if since is not None and classes:
        rows = session.execute(
            select(Event, Trainee.name).outerjoin(Trainee, Trainee.id == Event.trainee_id)
            .where(Event.class_id.in_(list(classes)), Event.id > since).order_by(Event.id).limit(REPLAY_LIMIT + 1)).all()
        events = [event_message(e, classes[e.class_id], name) for e, name in rows[:REPLAY_LIMIT]]
        truncated = len(rows) > REPLAY_LIMIT
    else:
        # First load: the latest alerts of the lessons in session, so a dashboard opened
        # mid-lesson shows what already went wrong.
        truncated = False
        lesson_ids = [lesson.id for lesson in lessons]
        if lesson_ids:
            rows = session.execute(
                select(Event, Trainee.name).outerjoin(Trainee, Trainee.id == Event.trainee_id)
                .where(Event.lesson_id.in_(lesson_ids), Event.verdict.in_(("rejected", "flagged")),
                       Event.decides_event_id.is_(None))
                .order_by(Event.id.desc()).limit(RECENT_ALERTS)).all()
            events = [event_message(e, classes[e.class_id], name) for e, name in reversed(rows)]
    return {"now": now.isoformat(), "cursor": latest, "lessons": in_session, "events": events,
            "events_truncated": truncated, "rooms": rooms_for(actor),
            "missed_spot_checks": _missed_spot_checks(session, [lesson.id for lesson in lessons], now)}


def _fix_in_venue_datum(location: dict, venue: Venue) -> dict | None:
    try:
        lat, lon = geofence.convert(location["lat"], location["lon"], location.get("datum") or "wgs84",
                                    venue.datum.value)
    except Exception:  # noqa: BLE001 - a drawing, not a decision: no fix drawn
        return None
    return {"lat": lat, "lon": lon, "accuracy_m": location["accuracy_m"], "fix_age_s": location.get("fix_age_s")}


def roll(session: Session, actor: Actor, lesson_id: int, now: datetime | None = None) -> dict:
    """A lesson's roll: each enrolled trainee's state and the evidence of their latest event,
    with the venue's fence and each fix in the same datum (for a plan drawing); for an online
    lesson, each trainee's presence too (online_presence)."""
    from server.clock import utc_now

    now = now or utc_now()
    if not allows(actor.role, Capability.WATCH_LIVE):
        raise ApiError(403, "forbidden", "您的角色无权查看点名册")
    lesson = session.get(Lesson, lesson_id)
    if lesson is None:
        raise ApiError(404, "lesson_not_found", f"课次 {lesson_id} 不存在")
    cls = visible_class(session, actor, lesson.class_id)
    venue = session.get(Venue, lesson.venue_id) if lesson.venue_id else None
    trainees = session.execute(select(Trainee.id, Trainee.name).join(Enrollment, and_(
        Enrollment.trainee_id == Trainee.id, Enrollment.class_id == cls.id)).order_by(Trainee.name)).all()
    events = list(session.scalars(select(Event).where(Event.lesson_id == lesson.id).order_by(Event.id)))
    decided = {e.decides_event_id: e for e in events if e.decides_event_id}
    by_trainee: dict[int, list[Event]] = {}
    for e in events:
        if e.trainee_id is not None and not e.decides_event_id:
            by_trainee.setdefault(e.trainee_id, []).append(e)
    rows = []
    for tid, name in trainees:
        mine = by_trainee.get(tid, [])
        verified_in = any(e.kind == "check_in" and _effective(e, decided) == "verified" for e in mine)
        verified_out = any(e.kind == "check_out" and _effective(e, decided) == "verified" for e in mine)
        last = mine[-1] if mine else None
        state = ("checked_out" if verified_out else "present" if verified_in else
                 ("pending_review" if last is not None and _effective(last, decided) == "flagged" else
                  "rejected" if last is not None and last.verdict == "rejected" else "missing"))
        row = {"trainee_id": tid, "name": name, "state": state, "events": len(mine), "last": None}
        if last is not None:
            ev = last.evidence or {}
            face, loc = ev.get("face") or {}, ev.get("location")
            row["last"] = {
                "event_id": last.id, "kind": last.kind, "verdict": last.verdict, "effective": _effective(last, decided),
                "at": last.at.isoformat(), "reasons": last.reasons,
                "face": {"distance": face.get("best_distance"), "threshold": face.get("threshold"),
                         "passed": face.get("passed"), "events": face.get("events"), "steps": face.get("steps"),
                         "model": face.get("model_name")},
                "frames": len(ev.get("frames") or []),
                "fix": _fix_in_venue_datum(loc, venue) if loc and venue else None,
                "fence": ev.get("fence"),
            }
        rows.append(row)
    if lesson.mode is LessonMode.online:
        presence = online_presence(session, lesson, cls, [tid for tid, _ in trainees], events, now)
        for row, (tid, _name) in zip(rows, trainees, strict=True):
            row["presence"] = presence.get(tid)
    fence = None
    if venue is not None:
        fence = {"kind": venue.fence_kind.value, "datum": venue.datum.value, "lat": venue.centre_lat,
                 "lon": venue.centre_lon, "radius_m": venue.radius_m, "points": venue.polygon, "name": venue.name,
                 "max_accuracy_m": venue.max_accuracy_m}
    return {"lesson": {"id": lesson.id, "class_id": cls.id, "class_name": cls.name, "mode": lesson.mode.value,
                       "title": lesson.title, "starts_at": lesson.starts_at.isoformat(), "ends_at": lesson.ends_at.isoformat(),
                       "online": lesson.mode is LessonMode.online},
            "fence": fence, "trainees": rows}


#: A page not heard from for longer than this is gone (it reports every 15-30 s; one late report
#: is tolerated, as in policies.attendance's max_heartbeat_gap).
GONE_AFTER_S = 45


def online_presence(session: Session, lesson: Lesson, cls: TrainingClass, trainee_ids: list[int], events: list[Event],
                    now: datetime) -> dict[int, dict]:
    """Who is really in an online lesson, for the roll: each trainee's last report (watching,
    paused, hidden or gone, with its age and the video position), the minutes the ledger credits
    so far (the same rule as the ledger: services/ledger.lesson_credit_from) and the spot checks
    passed and missed. Three queries for the whole class."""
    from server.models import Heartbeat
    from server.services import ledger, rules

    beats: dict[int, list[Heartbeat]] = {}
    for h in session.scalars(select(Heartbeat).where(Heartbeat.lesson_id == lesson.id).order_by(Heartbeat.at, Heartbeat.id)):
        beats.setdefault(h.trainee_id, []).append(h)
    checks: dict[int, list[SpotCheck]] = {}
    for c in session.scalars(select(SpotCheck).where(SpotCheck.lesson_id == lesson.id).order_by(SpotCheck.id)):
        checks.setdefault(c.trainee_id, []).append(c)
    by_trainee: dict[int, list[Event]] = {}
    for e in events:
        if e.trainee_id is not None:
            by_trainee.setdefault(e.trainee_id, []).append(e)
    media = ledger.lesson_media_for_credit(session, [lesson.id])
    policy = rules.region(cls.region_code)
    clause, window = policy.verification_clause, ledger.answer_window(policy)
    out: dict[int, dict] = {}
    for tid in trainee_ids:
        mine = beats.get(tid, [])
        last = mine[-1] if mine else None
        age = (now - last.at).total_seconds() if last is not None else None
        status = ("gone" if last is None or age is None or age > GONE_AFTER_S else "hidden" if not last.visible
                  else "paused" if last.playback in ("paused", "ended", "buffering") else "watching")
        credit = ledger.lesson_credit_from(lesson, by_trainee.get(tid, []), mine, checks.get(tid, []), now, clause,
                                           media.for_trainee(lesson.id, tid),
                                           window)
        answered = {e.spot_check_id for e in by_trainee.get(tid, []) if e.kind == "spot_check" and e.verdict == "verified"}
        asked = [c for c in checks.get(tid, []) if c.issued_at <= now]
        out[tid] = {
            "status": status, "last_at": last.at.isoformat() if last is not None else None,
            "age_s": round(age) if age is not None else None,
            "position_s": last.position_s if last is not None else None,
            "playback": last.playback if last is not None else None,
            "credited_minutes": round(credit.credited_seconds / 60, 1),
            "spot_checks": {"passed": sum(1 for c in asked if c.id in answered),
                            "missed": sum(1 for c in asked if c.id not in answered and c.due_at < now)},
        }
    return out


def _effective(event: Event, decided: dict[int, Event]) -> str:
    """A flagged event's verdict after review (approved -> verified, rejected -> rejected)."""
    decision = decided.get(event.id)
    if event.verdict == "flagged" and decision is not None:
        return "verified" if decision.verdict == "approved" else "rejected"
    return event.verdict


def view_frame(session: Session, actor: Actor, event_id: int, index: int, store: EvidenceStore, now: datetime) -> bytes:
    """One frame of an event's evidence, for a reviewer who may see the event's class; the look is
    recorded (PIPL: every view of a face photo is on the record: who, which event, which frame)."""
    event = session.get(Event, event_id)
    if event is None:
        raise ApiError(404, "event_not_found", f"记录 {event_id} 不存在")
    cls = visible_class(session, actor, event.class_id)
    frames = (event.evidence or {}).get("frames") or []
    if not 0 <= index < len(frames):
        raise ApiError(404, "frame_not_found", f"记录 {event_id} 没有第 {index + 1} 帧")
    try:
        data = store.get(frames[index])
    except FileNotFoundError:  # purged after its keeping period (410), or lost (an integrity problem)
        raise retention.missing_photo_error(session, event, frames[index], now) from None
    audit.record(session, actor, "evidence.view_frame", "event", event.id, None, {"frame": index},
                 institution_id=cls.institution_id)
    session.commit()
    return data
