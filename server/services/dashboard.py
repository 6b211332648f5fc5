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
from server.services import audit, nonface, retention
from server.services.names import pinyin_key
from server.services.presence import GONE_AFTER_S, present_offline
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


def lesson_rooms(session: Session, lesson_ids: list[int]) -> dict[int, tuple[int, list[str]]]:
    """Each lesson's class id and the rooms of its class (those of class_rooms), in one statement:
    where a lesson's presence changes are pushed (server/sockets.py PresencePush)."""
    rows = session.execute(select(Lesson.id, TrainingClass, District.city_id)
                           .join(TrainingClass, TrainingClass.id == Lesson.class_id)
                           .join(District, District.id == TrainingClass.district_id)
                           .where(Lesson.id.in_(lesson_ids))).all()
    return {lesson_id: (cls.id, _rooms_of(city_id, cls)) for lesson_id, cls, city_id in rows}


def _alert_of(event: Event) -> str | None:
    # A review decision raises nothing itself: it resolves the alert of the event it decides.
    if event.decides_event_id is not None:
        return None
    if event.verdict == "rejected":
        return "rejected"
    if event.verdict == "flagged":
        return "flagged"
    return None


def review_json(decision: Event, reviewer: str | None) -> dict[str, Any]:
    """A review decision as the dashboard shows it beside the event it decided: what, by whom
    (the reviewer's name), when and why."""
    reason = next((r.get("detail") for r in decision.reasons or [] if r.get("detail")), None)
    return {"event_id": decision.id, "decision": decision.verdict, "at": decision.at.isoformat(),
            "by": reviewer or (decision.evidence or {}).get("reviewer"), "reason": reason}


def reviews_of(session: Session, event_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The latest review decision of each of these events (with the reviewer's name), one query."""
    from server.models import User

    if not event_ids:
        return {}
    out: dict[int, dict[str, Any]] = {}
    for decision, name in session.execute(select(Event, User.display_name).outerjoin(User, User.id == Event.actor_id)
                                          .where(Event.decides_event_id.in_(event_ids)).order_by(Event.id)):
        if decision.decides_event_id is not None:
            out[decision.decides_event_id] = review_json(decision, name)
    return out


def event_message(event: Event, cls: TrainingClass, trainee_name: str | None,
                  review: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the dashboard hears about one event (no biometric data: the frames stay behind the
    evidence endpoint, which checks scope and records the access). `review`: the decision about
    it, or for a decision itself, the decision (the watcher resolves the decided event's alert)."""
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
        "alert": _alert_of(event), "review": review,
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
    review = None
    if event.decides_event_id is not None:
        from server.models import User

        review = review_json(event, session.scalar(select(User.display_name).where(User.id == event.actor_id)))
    message = event_message(event, cls, name, review)
    message["lesson_counts"] = lesson_counts(session, [(event.lesson_id, cls.id)], now)[event.lesson_id]
    message["lesson_counts"]["mass_failure"] = mass_failure(message["lesson_counts"])
    return _rooms_of(city_id, cls), message


def lesson_counts(session: Session, lessons: list[tuple[int, int]], now: datetime) -> dict[int, dict[str, int]]:
    """The dashboard's figures of each (lesson id, class id), defined in services/counts.py."""
    from server.services import counts

    return counts.lesson_counts(session, lessons, now)


#: Many trainees of one lesson failing at once: at least this many, and at least half of those
#: who tried. One failure is a person; several at once is the venue's fence being wrong (drawn
#: in the wrong datum, moved) or a coordinated attempt, and a supervisor should look at the lesson.
MASS_FAILURE_AT_LEAST = 3


def mass_failure(counts: dict[str, int]) -> bool:
    """Whether a lesson's figures (services/counts.py) say many trainees failed at once."""
    rejected = counts.get("rejected", 0)
    tried = rejected + counts.get("checked_in", 0)
    return rejected >= MASS_FAILURE_AT_LEAST and 2 * rejected >= tried


def group_photo_cross_check(session: Session, lesson_id: int, present_in_photo: list[int], at: datetime,
                            absent_from_photo: list[int]) -> list[dict[str, Any]]:
    """A lesson's group photo against its check-ins at the photo's time: a trainee recognised in
    the photo who is not checked in (present but unrecorded: a forgotten check-in, or someone
    attending for another), and one checked in whom the photo does not show although their face
    could be compared (`absent_from_photo`: an enrolled face matched nobody in it; a face the
    matcher was unsure of is neither). Each with the trainee's name."""
    checked_in = set(present_offline(session, lesson_id, at))
    photo = set(present_in_photo)
    issues = [(t, "in_photo_not_checked_in") for t in sorted(photo - checked_in)]
    issues += [(t, "checked_in_not_in_photo") for t in sorted(checked_in & set(absent_from_photo))]
    if not issues:
        return []
    names = dict(session.execute(select(Trainee.id, Trainee.name).where(Trainee.id.in_([t for t, _ in issues]))).all())
    words = {"in_photo_not_checked_in": "合影中识别出，但未签到", "checked_in_not_in_photo": "已签到，但合影中未识别出"}
    return [{"trainee_id": t, "trainee_name": names.get(t), "kind": kind, "detail": words[kind]} for t, kind in issues]


def _cross_checks(session: Session, lessons: list[Lesson], classes: dict[int, TrainingClass]) -> list[dict]:
    """The latest group photo of each offline lesson in session, checked against its check-ins."""
    from server.models import GroupPhoto

    ids = [x.id for x in lessons if x.mode is LessonMode.offline]
    if not ids:
        return []
    latest: dict[int, GroupPhoto] = {}
    for g in session.scalars(select(GroupPhoto).where(GroupPhoto.lesson_id.in_(ids)).order_by(GroupPhoto.id)):
        latest[g.lesson_id] = g
    out = []
    for lesson_id, g in latest.items():
        absent = [int(t) for t in (g.match or {}).get("absent", [])]
        for item in group_photo_cross_check(session, lesson_id, list(g.present or []), g.uploaded_at, absent):
            cls = classes[g.class_id]
            out.append({**item, "alert": "cross_check", "group_photo_id": g.id, "lesson_id": lesson_id, "class_id": cls.id,
                        "class_name": cls.name, "at": g.uploaded_at.isoformat()})
    return out


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
            "mass_failure": mass_failure(counts[lesson.id]),
        })
    events: list[dict] = []
    latest = session.scalar(select(func.max(Event.id)).where(Event.class_id.in_(list(classes)))) or 0
    if since is not None and classes:
        rows = session.execute(
            select(Event, Trainee.name).outerjoin(Trainee, Trainee.id == Event.trainee_id)
            .where(Event.class_id.in_(list(classes)), Event.id > since).order_by(Event.id).limit(REPLAY_LIMIT + 1)).all()
        shown = rows[:REPLAY_LIMIT]
        decided = reviews_of(session, [e.id for e, _name in shown])
        events = [event_message(e, classes[e.class_id], name, decided.get(e.id)) for e, name in shown]
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
            decided = reviews_of(session, [e.id for e, _name in rows])
            events = [event_message(e, classes[e.class_id], name, decided.get(e.id)) for e, name in reversed(rows)]
    return {"now": now.isoformat(), "cursor": latest, "lessons": in_session, "events": events,
            "events_truncated": truncated, "rooms": rooms_for(actor),
            "missed_spot_checks": _missed_spot_checks(session, [lesson.id for lesson in lessons], now),
            "cross_checks": _cross_checks(session, lessons, classes)}


def fix_in_venue_datum(location: dict, venue: Venue) -> dict | None:
    """A WGS-84 fix in the venue's datum, to be drawn against its fence (the roll, a review's context)."""
    try:
        lat, lon = geofence.convert(location["lat"], location["lon"], location.get("datum") or "wgs84",
                                    venue.datum.value)
    except Exception:  # noqa: BLE001 - a drawing, not a decision: no fix drawn
        return None
    return {"lat": lat, "lon": lon, "accuracy_m": location["accuracy_m"], "fix_age_s": location.get("fix_age_s")}


def venue_fence(venue: Venue) -> dict:
    """A venue's fence as the dashboard draws it (in the venue's datum)."""
    return {"kind": venue.fence_kind.value, "datum": venue.datum.value, "lat": venue.centre_lat,
            "lon": venue.centre_lon, "radius_m": venue.radius_m, "points": venue.polygon, "name": venue.name,
            "max_accuracy_m": venue.max_accuracy_m}


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
    # In pinyin order, as a roll is called (the database sorts by code point: 孙 before 李).
    trainees = sorted(session.execute(select(Trainee.id, Trainee.name).join(Enrollment, and_(
        Enrollment.trainee_id == Trainee.id, Enrollment.class_id == cls.id))).all(), key=lambda r: (pinyin_key(r.name), r.id))
    events = list(session.scalars(select(Event).where(Event.lesson_id == lesson.id).order_by(Event.id)))
    decided = {e.decides_event_id: e for e in events if e.decides_event_id}
    reviews = reviews_of(session, list(decided))
    by_trainee: dict[int, list[Event]] = {}
    for e in events:
        if e.trainee_id is not None and not e.decides_event_id:
            by_trainee.setdefault(e.trainee_id, []).append(e)
    # Trainees who refused face processing, and their requests the teacher can confirm now
    # (services/nonface.py: 确认本人在场 on the roll).
    refused = nonface.refusers(session, [tid for tid, _ in trainees])
    awaiting = nonface.pending_for_roll(session, lesson.id, now)
    rows = []
    for tid, name in trainees:
        mine = by_trainee.get(tid, [])
        verified_in = any(e.kind == "check_in" and _effective(e, decided) == "verified" for e in mine)
        verified_out = any(e.kind == "check_out" and _effective(e, decided) == "verified" for e in mine)
        last = mine[-1] if mine else None
        state = ("checked_out" if verified_out else "present" if verified_in else
                 ("pending_review" if last is not None and _effective(last, decided) == "flagged" else
                  "rejected" if last is not None and _effective(last, decided) == "rejected" else "missing"))
        row = {"trainee_id": tid, "name": name, "state": state, "events": len(mine), "last": None,
               "face_refused": tid in refused, "awaiting_teacher": awaiting.get(tid, [])}
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
                "fix": fix_in_venue_datum(loc, venue) if loc and venue else None,
                "fence": ev.get("fence"),
                "review": reviews.get(last.id),
                "method": ev.get("method"), "method_label": ev.get("method_label"),
            }
        rows.append(row)
    if lesson.mode is LessonMode.online:
        presence = online_presence(session, lesson, cls, [tid for tid, _ in trainees], events, now)
        for row, (tid, _name) in zip(rows, trainees, strict=True):
            row["presence"] = presence.get(tid)
    fence = venue_fence(venue) if venue is not None else None
    return {"lesson": {"id": lesson.id, "class_id": cls.id, "class_name": cls.name, "mode": lesson.mode.value,
                       "title": lesson.title, "starts_at": lesson.starts_at.isoformat(), "ends_at": lesson.ends_at.isoformat(),
                       "online": lesson.mode is LessonMode.online},
            "fence": fence, "trainees": rows}




def presence_status(visible: bool, playback: str | None) -> str:
    """What one heartbeat says of the page: hidden, paused (the video paused, ended or stalled)
    or watching. One rule for the roll (online_presence) and for the push of a change
    (server/sockets.py PresencePush), which calls it for every heartbeat: no I/O here."""
    if not visible:
        return "hidden"
    return "paused" if playback in ("paused", "ended", "buffering") else "watching"


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
        status = ("gone" if last is None or age is None or age > GONE_AFTER_S
                  else presence_status(last.visible, last.playback))
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
    """An event's verdict after review: the latest decision about it wins (approved -> verified,
    rejected -> rejected), as in services/counts.py and presence.present_offline."""
    decision = decided.get(event.id)
    if decision is not None:
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
