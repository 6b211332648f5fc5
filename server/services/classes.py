"""Training classes and their plans. A plan is checked by the region's rules when it is filed;
a filed plan changes only through a recorded amendment that passes the same check."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from policies import clauses
from server.clock import local_date
from server.errors import ApiError
from server.models import ClassAmendment, ClassStatus, Funding, Lesson, LessonMode, Seal, Teacher, TrainingClass, User, Venue
from server.permissions import Capability
from server.services import audit, rules, trainees, venue_fences
from server.services.institutions import district_in_region, own_institution_id
from server.services.scope import (
    Actor,
    classes_query,
    require,
    visible_class,
    visible_institution,
    writable_class,
)


def create_class(session: Session, actor: Actor, data, now: datetime) -> tuple[TrainingClass, list[dict]]:
    """A draft class with the lessons given, and the warnings on those lessons (entry_warnings)."""
    require(actor, Capability.FILE_CLASSES)
    inst_id = own_institution_id(actor, data.institution_id)
    visible_institution(session, actor, inst_id)
    district_in_region(session, data.district_id, data.region_code)
    cls = TrainingClass(
        institution_id=inst_id, region_code=data.region_code, district_id=data.district_id, name=data.name,
        occupation_code=rules.canonical_occupation(data.occupation_code), direction=data.direction or "—",
        level=data.level, starts_on=data.starts_on, ends_on=data.ends_on, funding=data.funding, fee=data.fee,
        room_code=data.funding is Funding.subsidised if data.room_code is None else data.room_code,
        checkpoint_quizzes=data.checkpoint_quizzes,
    )
    session.add(cls)
    session.flush()
    added = _add_lessons(session, cls, data.lessons)
    warnings = rules.entry_warnings(cls, added)  # read before the commit expires the rows
    audit.record(session, actor, "class.create", "training_class", cls.id, None, class_json(cls), institution_id=inst_id)
    session.commit()
    return cls, warnings


def add_lessons(session: Session, actor: Actor, class_id: int, lessons) -> tuple[list[Lesson], list[dict]]:
    """Add lessons to a draft plan. They are stored even when the rules warn about them (a date
    outside the class dates, a statutory holiday): the warnings come back with them, so the
    institution learns now what filing would otherwise tell it later."""
    cls = writable_class(session, actor, class_id)
    if cls.status is ClassStatus.filed:
        raise ApiError(409, "plan_filed", "该培训班计划已备案，只能通过计划变更（amendment）修改")
    added = _add_lessons(session, cls, lessons)
    warnings = rules.entry_warnings(cls, added)  # read before the commit expires the rows
    audit.record(session, actor, "lesson.add", "training_class", cls.id, None,
                 {"lessons": [lesson_json(x) for x in added]}, institution_id=cls.institution_id)
    session.commit()
    return added, warnings


def remove_draft_lesson(session: Session, actor: Actor, class_id: int, lesson_id: int) -> None:
    """Take a lesson out of a plan that is not filed yet (a mistake while drafting). A filed plan
    changes only through an amendment, which cancels lessons and keeps them on record."""
    cls = writable_class(session, actor, class_id)
    lesson = session.get(Lesson, lesson_id)
    if lesson is None or lesson.class_id != cls.id:
        raise ApiError(404, "lesson_not_found", f"课次 {lesson_id} 不属于该培训班")
    if cls.status is ClassStatus.filed:
        raise ApiError(409, "plan_filed", "该培训班计划已备案，只能通过计划变更（amendment）取消课次")
    before = lesson_json(lesson)
    session.delete(lesson)
    audit.record(session, actor, "lesson.remove", "training_class", cls.id, {"lesson": before}, None,
                 institution_id=cls.institution_id)
    session.commit()


def _add_lessons(session: Session, cls: TrainingClass, lessons, amendment_id: int | None = None) -> list[Lesson]:
    added = []
    for i, data in enumerate(lessons):
        when = rules.lesson_label(cls, data.starts_at, data.ends_at)  # not stored yet: no 编号
        if data.venue_id is not None:
            venue = session.get(Venue, data.venue_id)
            if venue is None or venue.institution_id != cls.institution_id:
                raise ApiError(422, "unknown_venue", f"{when}的场地 {data.venue_id} 不属于本机构",
                               fields=[{"field": f"lessons.{i}.venue_id", "message": "不是本机构的场地"}])
        if data.mode is LessonMode.online and data.venue_id is not None:
            raise ApiError(422, "invalid_input", f"{when}为线上课，不应指定场地",
                           fields=[{"field": f"lessons.{i}.venue_id", "message": "线上课次不选场地"}])
        if data.teacher_id is not None:
            teacher = session.get(Teacher, data.teacher_id)
            if teacher is None or teacher.institution_id != cls.institution_id:
                raise ApiError(422, "unknown_teacher", f"{when}的师资 {data.teacher_id} 不属于本机构",
                               fields=[{"field": f"lessons.{i}.teacher_id", "message": "不是本机构的教师"}])
        lesson = Lesson(class_id=cls.id, amendment_id=amendment_id, **data.model_dump())
        session.add(lesson)
        added.append(lesson)
    session.flush()
    return added


def active_lessons(session: Session, class_id: int) -> list[Lesson]:
    return list(session.scalars(
        select(Lesson).where(Lesson.class_id == class_id, Lesson.cancelled_at.is_(None)).order_by(Lesson.starts_at)
    ))


def check_plan(session: Session, actor: Actor, class_id: int) -> dict:
    """The rules' verdict on the plan as it stands, without filing it (institutions check first)."""
    cls = visible_class(session, actor, class_id)
    result = rules.check_json(rules.check(cls, active_lessons(session, cls.id)))
    result.setdefault("warnings", []).extend(trainees.category_warnings(session, cls))
    return result


def file_class(session: Session, actor: Actor, class_id: int, now: datetime) -> tuple[TrainingClass, dict]:
    """File the plan: refused with every violation and its clause, or accepted and frozen."""
    cls = writable_class(session, actor, class_id)
    if cls.status is ClassStatus.filed:
        raise ApiError(409, "plan_filed", "该培训班计划已备案")
    lessons = active_lessons(session, cls.id)
    _refuse_unapproved_venues(session, actor, cls, lessons, audit_refusal=True)
    result = rules.check_json(rules.check(cls, lessons))
    # Trainees whose category the subsidy rules cannot judge do not stop the filing (they may be
    # added later) but are said now, not first in the export.
    result.setdefault("warnings", []).extend(trainees.category_warnings(session, cls))
    if not result["accepted"]:
        audit.record(session, actor, "class.file_refused", "training_class", cls.id, None, result,
                     institution_id=cls.institution_id)
        session.commit()
        raise ApiError(422, "plan_refused", "培训计划不符合规定，未予备案：" + "；".join(
            f"{v['detail']}（{clauses.describe(v['clause'])}）" for v in result["violations"]), check=result)
    cls.status = ClassStatus.filed
    cls.filed_at = now
    audit.record(session, actor, "class.file", "training_class", cls.id, {"status": "draft"},
                 {"status": "filed", "filed_at": now.isoformat(), "check": result}, institution_id=cls.institution_id)
    session.commit()
    return cls, result


def _refuse_unapproved_venues(session: Session, actor: Actor, cls: TrainingClass, lessons: list[Lesson], *,
                              audit_refusal: bool = False) -> None:
    """A class is filed (or amended with lessons) only at venues whose fence the district has
    approved as it is now: the fence decides where check-ins count (cq 3.2.2: 经区县人力社保部门
    审核通过后开展培训)."""
    venue_ids = {x.venue_id for x in lessons if x.venue_id is not None}
    if not venue_ids:
        return
    pending = venue_fences.unapproved(session, venue_ids)
    if not pending:
        return
    clause = rules.region(cls.region_code).plan_clause or "POLICY §4"
    violations = [{"code": "venue_fence_not_approved", "clause": clause, "venue_id": v.id, "venue": v.name,
                   "fence_status": status, "detail": venue_fences.refusal_text([(v, status)])} for v, status in pending]
    if audit_refusal:
        audit.record(session, actor, "class.file_refused", "training_class", cls.id, None,
                     {"accepted": False, "violations": violations}, institution_id=cls.institution_id)
        session.commit()
    raise ApiError(422, "venue_fence_not_approved",
                   f"{venue_fences.refusal_text(pending)}（{clauses.describe(clause)}）", violations=violations)


def amend_class(session: Session, actor: Actor, class_id: int, data, now: datetime) -> tuple[ClassAmendment, list[dict]]:
    """Change a filed plan: the amended plan must pass the same check; the change is recorded.
    Returned with the warnings on the lessons it adds (a statutory holiday, entry_warnings)."""
    cls = writable_class(session, actor, class_id)
    if cls.status is not ClassStatus.filed:
        raise ApiError(409, "plan_not_filed", "该培训班尚未备案，请直接修改课次")
    lessons = active_lessons(session, cls.id)
    by_id = {lesson.id: lesson for lesson in lessons}
    unknown = [i for i in data.cancel_lesson_ids if i not in by_id]
    if unknown:
        raise ApiError(422, "unknown_lesson", f"课次 {unknown} 不属于该培训班或已取消",
                       fields=[{"field": "cancel_lesson_ids", "message": f"课次 {unknown} 不存在"}])
    # Check the plan as it would be, before writing anything.
    proposed = [lesson for lesson in lessons if lesson.id not in set(data.cancel_lesson_ids)]
    # Transient rows (class_id only, no relationship): never added to the session, never flushed.
    added = [Lesson(class_id=cls.id, **x.model_dump()) for x in data.add_lessons]
    proposed += added
    _refuse_unapproved_venues(session, actor, cls, added)  # new lessons only at approved venues
    result = rules.check_json(rules.check(cls, proposed))
    if not result["accepted"]:
        raise ApiError(422, "plan_refused", "变更后的培训计划不符合规定，未予变更：" + "；".join(
            f"{v['detail']}（{clauses.describe(v['clause'])}）" for v in result["violations"]), check=result)
    change = {"add_lessons": [x.model_dump(mode="json") for x in data.add_lessons],
              "cancel_lesson_ids": list(data.cancel_lesson_ids)}
    amendment = ClassAmendment(class_id=cls.id, at=now, by_id=actor.user_id, reason=data.reason, change=change, check=result)
    session.add(amendment)
    session.flush()
    for lesson_id in data.cancel_lesson_ids:
        by_id[lesson_id].cancelled_at = now
        by_id[lesson_id].amendment_id = amendment.id
    warnings = rules.entry_warnings(cls, _add_lessons(session, cls, data.add_lessons, amendment_id=amendment.id))
    audit.record(session, actor, "class.amend", "training_class", cls.id, None,
                 {"amendment_id": amendment.id, "reason": data.reason, **change}, institution_id=cls.institution_id)
    session.commit()
    return amendment, warnings


def list_classes(session: Session, actor: Actor) -> list[TrainingClass]:
    return list(session.scalars(classes_query(actor).order_by(TrainingClass.starts_on.desc(), TrainingClass.id)))


def list_classes_with_state(session: Session, actor: Actor, now: datetime) -> list[dict]:
    """The classes in scope, each with where it stands now, so the class list can be grouped by
    state (上课中 / 未开始 / 已结束 / 已备案 / 已封存) without a request per class:
    `timing` is upcoming (no lesson started yet), ongoing or finished (every lesson over), read
    from the lessons not cancelled (from the class dates when it has none); `in_session` says a
    lesson runs right now; `sealed_at` is the first subsidy export's seal (None when unsealed)."""
    classes = list_classes(session, actor)
    ids = [c.id for c in classes]
    if not ids:
        return []
    starts, ends, sealed = Lesson.__table__.c.starts_at.type, Lesson.__table__.c.ends_at.type, Seal.__table__.c.sealed_at.type
    live = Lesson.cancelled_at.is_(None), Lesson.class_id.in_(ids)
    spans = {row[0]: (row[1], row[2]) for row in session.execute(
        select(Lesson.class_id, func.min(Lesson.starts_at, type_=starts), func.max(Lesson.ends_at, type_=ends))
        .where(*live).group_by(Lesson.class_id))}
    running = set(session.scalars(select(Lesson.class_id).where(*live, Lesson.starts_at <= now, Lesson.ends_at > now)))
    seals = dict(session.execute(select(Seal.class_id, func.min(Seal.sealed_at, type_=sealed))
                                 .where(Seal.class_id.in_(ids)).group_by(Seal.class_id)).all())
    out = []
    for cls in classes:
        if cls.id in spans:
            first, last = spans[cls.id]
            timing = "upcoming" if now < first else "finished" if now >= last else "ongoing"
        else:
            today = local_date(now, cls.region_code)
            timing = "upcoming" if today < cls.starts_on else "finished" if today > cls.ends_on else "ongoing"
        seal = seals.get(cls.id)
        out.append({**class_json(cls), "timing": timing, "in_session": cls.id in running,
                    "sealed_at": seal.isoformat() if seal else None})
    return out


def class_json(cls: TrainingClass) -> dict:
    return {
        "id": cls.id, "name": cls.name, "institution_id": cls.institution_id, "region_code": cls.region_code,
        "district_id": cls.district_id, "occupation_code": cls.occupation_code, "direction": cls.direction,
        "level": cls.level.value, "starts_on": cls.starts_on.isoformat(), "ends_on": cls.ends_on.isoformat(),
        "funding": cls.funding.value, "fee": None if cls.fee is None else str(cls.fee), "status": cls.status.value,
        "filed_at": cls.filed_at.isoformat() if cls.filed_at else None, "room_code": cls.room_code,
        "checkpoint_quizzes": cls.checkpoint_quizzes,
        "quizzes_enabled": cls.checkpoint_quizzes or rules.region(cls.region_code).checkpoint_quizzes.value,
        # The region's subsidised groups: the enrolment form's list (policies/categories.py).
        "subsidy_categories": [{"code": g.code, "name": g.shown, "detail": g.detail, "clause": g.clause}
                               for g in rules.region(cls.region_code).eligible_groups],
    }


def lesson_json(lesson: Lesson) -> dict:
    return {
        "id": lesson.id, "class_id": lesson.class_id, "starts_at": lesson.starts_at.isoformat(),
        "ends_at": lesson.ends_at.isoformat(), "mode": lesson.mode.value, "content": lesson.content.value,
        "venue_id": lesson.venue_id, "teacher_id": lesson.teacher_id, "title": lesson.title,
        "cancelled_at": lesson.cancelled_at.isoformat() if lesson.cancelled_at else None,
        "amendment_id": lesson.amendment_id,
    }


def lessons_with_media_json(session: Session, lessons: list[Lesson]) -> list[dict]:
    """The lessons, each with the video or live stream it plays in the online classroom (or None)
    and how many checkpoint quizzes its current video has."""
    from server.services.lesson_media import latest_media, media_json
    from server.services.quizzes import gates

    media = latest_media(session, [x.id for x in lessons])
    quizzes = gates(session, media).positions
    return [{**lesson_json(x), "media": media_json(media.get(x.id), x.id),
             "quiz_checkpoints": len(quizzes.get(x.id, ()))} for x in lessons]


def amendments_json(session: Session, class_id: int) -> list[dict]:
    """A class's plan amendments in time order: when, by whom (the account's name), why, and what
    changed (the lessons it cancelled, how many it added). The caller has checked the class is visible."""
    rows = session.execute(select(ClassAmendment, User.display_name).outerjoin(User, User.id == ClassAmendment.by_id)
                           .where(ClassAmendment.class_id == class_id).order_by(ClassAmendment.at, ClassAmendment.id))
    return [{"id": a.id, "at": a.at.isoformat(), "by": name, "reason": a.reason,
             "cancel_lesson_ids": list(a.change.get("cancel_lesson_ids", [])),
             "added_lessons": len(a.change.get("add_lessons", []))} for a, name in rows]


def class_with_lessons(session: Session, actor: Actor, class_id: int) -> tuple[TrainingClass, list[Lesson]]:
    """A class this actor may see, with its lessons in time order."""
    cls = visible_class(session, actor, class_id)
    return cls, list(session.scalars(select(Lesson).where(Lesson.class_id == cls.id).order_by(Lesson.starts_at)))
