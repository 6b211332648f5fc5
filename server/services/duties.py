"""Filing deadlines as duties of an institution, with reminders.

The deadlines are the region's rules (policies/regions/*.yaml, computed by policies.deadlines
with working days and 调休); this module only finds each rule's anchor date in the database
and keeps one duty per rule and subject:

- class_opening: the class's start date (YN: file trainees 15 working days before opening);
- training_end: the class's end date (CQ self-paid report within 30 days; JS continuing-education
  registration within a month);
- level_certificate_issued: a trainee's level certificate for the class's occupation and level,
  issued on or after the class started (ZJ: apply within 12 months) - one duty per enrollment;
- application_received (JS: review of a subsidy application within 5 working days): hourproof
  does not receive applications itself, so 人社 staff record the day they accepted a class's
  application (`record_application`); that duty is the reviewers' to mark done, not the
  institution's.

Keeping periods (kind years_after) are not duties to remind of: retention applies them.

A reminder is recorded once per duty and stage: `ahead` (within REMIND_AHEAD of the due date),
`due` (on the day), `overdue` (after it, until marked done). Delivery is the dashboard and the
scheduler's log; there is no SMS or mail channel yet."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from policies import clauses
from policies.deadlines import ANCHORS, add_months, compute_deadline
from server.clock import local_date
from server.database.rows import insert_once
from server.errors import ApiError
from server.models import Certificate, Duty, DutyReminder, Enrollment, TrainingClass
from server.permissions import Capability, allows
from server.services import audit, rules
from server.services.scope import Actor, classes_query, require, visible_class

#: Deadlines are calendar dates in China (one offset all year, no DST).
#: How early the first reminder comes. A week leaves an institution time to gather papers
#: (YN's filing is itself 15 working days before opening, so this warns about 4 weeks ahead of
#: the class); the seeds set no figure.
REMIND_AHEAD = timedelta(days=7)
STAGE_ZH = {"ahead": "即将到期", "due": "今日到期", "overdue": "已逾期"}
STATUS_ZH = {"due": "待办", "overdue": "已逾期", "done": "已完成"}
RECORDED_ANCHORS = ("application_received",)


def done_by(duty: Duty) -> Capability:
    """Who marks a duty done: the institution files; 人社 reviews (duties counted from the day an
    application was accepted are the reviewers')."""
    return Capability.REVIEW_APPLICATIONS if duty.anchor in RECORDED_ANCHORS else Capability.COMPLETE_FILING_DUTIES


def _anchors(session: Session, cls: TrainingClass, anchor: str) -> list[tuple[str, int | None, date]]:
    """(subject, enrollment id, anchor date) for one anchor of one class; [] when unknown."""
    if anchor == "class_opening":
        return [(f"class:{cls.id}", None, cls.starts_on)]
    if anchor == "training_end":
        return [(f"class:{cls.id}", None, cls.ends_on)]
    if anchor == "level_certificate_issued":
        catalog = rules.catalog()
        occupation = catalog.resolve(cls.occupation_code).code
        out: list[tuple[str, int | None, date]] = []
        rows = session.execute(select(Enrollment.id, Certificate).join(
            Certificate, Certificate.trainee_id == Enrollment.trainee_id)
            .where(Enrollment.class_id == cls.id, Certificate.kind == "level", Certificate.level == cls.level,
                   Certificate.issued_on >= cls.starts_on)
            .order_by(Enrollment.id, Certificate.issued_on)).all()
        seen = set()
        for enrollment_id, cert in rows:
            if enrollment_id in seen or cert.occupation_code not in catalog or catalog.resolve(cert.occupation_code).code != occupation:
                continue
            seen.add(enrollment_id)  # the first certificate after the class started opens the window
            out.append((f"enrollment:{enrollment_id}", enrollment_id, cert.issued_on))
        return out
    return []


@dataclass
class SyncResult:
    created: int = 0
    updated: int = 0
    #: Rules whose anchor the database does not record (e.g. js eligibility_review)
    not_computable: set[str] = field(default_factory=set)


#: Classes that ended longer ago than this owe nothing new: the longest period after the end is
#: ZJ's 12 months from a level certificate, which itself comes within months of the class.
SYNC_HORIZON_MONTHS = 24


def sync(session: Session, now: datetime) -> SyncResult:
    """Create (or recompute) the duty of every reminder rule for every class that has not ended
    long ago. Idempotent."""
    result = SyncResult()
    since = add_months(local_date(now), -SYNC_HORIZON_MONTHS)
    classes = session.scalars(select(TrainingClass).where(TrainingClass.ends_on >= since).order_by(TrainingClass.id)).all()
    existing = {(d.code, d.subject): d for d in session.scalars(
        select(Duty).join(TrainingClass, TrainingClass.id == Duty.class_id).where(TrainingClass.ends_on >= since))}
    for cls in classes:
        policy = rules.region(cls.region_code)
        for rule in policy.deadlines:
            if rule.kind == "years_after" or not rule.applies_to(cls.funding.value):
                continue
            anchors = _anchors(session, cls, rule.anchor)
            if rule.anchor not in ("class_opening", "training_end", "level_certificate_issued", *RECORDED_ANCHORS):
                result.not_computable.add(f"{policy.code}:{rule.code} ({ANCHORS.get(rule.anchor, rule.anchor)})")
            for subject, enrollment_id, anchor_date in anchors:
                d = compute_deadline(rule, anchor_date)
                duty = existing.get((rule.code, subject))
                if duty is None:
                    if insert_once(session, Duty(code=rule.code, subject=subject, class_id=cls.id, enrollment_id=enrollment_id,
                                                  region_code=policy.code, anchor=rule.anchor, anchor_date=anchor_date,
                                                  due_on=d.due, clause=d.clause, detail=d.detail, provisional=d.provisional,
                                                  created_at=now)):
                        result.created += 1
                elif duty.done_at is None and (duty.due_on, duty.anchor_date, duty.detail, duty.provisional) != (
                        d.due, anchor_date, d.detail, d.provisional):
                    # The class's dates changed, or a provisional count became official.
                    duty.due_on, duty.anchor_date, duty.detail, duty.provisional = d.due, anchor_date, d.detail, d.provisional
                    duty.updated_at = now
                    result.updated += 1
    session.commit()
    return result


def status_of(duty: Duty, today: date) -> str:
    if duty.done_at is not None:
        return "done"
    return "overdue" if today > duty.due_on else "due"


def stage_of(due_on: date, today: date) -> str | None:
    """Which reminder is owed today: none yet, ahead, due or overdue."""
    if today > due_on:
        return "overdue"
    if today == due_on:
        return "due"
    if today >= due_on - REMIND_AHEAD:
        return "ahead"
    return None


def remind(session: Session, now: datetime) -> list[DutyReminder]:
    """Record the reminder owed today for every open duty, once per duty and stage."""
    today = local_date(now)
    made = []
    open_duties = session.execute(select(Duty, TrainingClass.name).join(TrainingClass, TrainingClass.id == Duty.class_id)
                                  .where(Duty.done_at.is_(None), Duty.due_on <= today + REMIND_AHEAD)).all()
    for duty, class_name in open_duties:
        stage = stage_of(duty.due_on, today)
        if stage is None:
            continue
        message = f"【{STAGE_ZH[stage]}】{class_name}：{duty.detail}（依据 {clauses.describe(duty.clause)}）"
        row = DutyReminder(duty_id=duty.id, stage=stage, due_on=duty.due_on, at=now, message=message)
        if insert_once(session, row):
            made.append(row)
    session.commit()
    return made


def duties_for(session: Session, actor: Actor, now: datetime, status: str = "open", class_id: int | None = None,
               institution_id: int | None = None) -> list[dict]:
    """The duties an actor may see: supervisors their district, institution admins their
    institution (the class scope). `status`: open (due + overdue), due, overdue, done or all."""
    require(actor, Capability.VIEW_DUTIES)
    visible = classes_query(actor).with_only_columns(TrainingClass.id)
    q = (select(Duty, TrainingClass).join(TrainingClass, TrainingClass.id == Duty.class_id)
         .where(Duty.class_id.in_(visible)).order_by(Duty.due_on, Duty.id))
    if class_id is not None:
        visible_class(session, actor, class_id)
        q = q.where(Duty.class_id == class_id)
    if institution_id is not None:
        from server.services.scope import visible_institution

        visible_institution(session, actor, institution_id)
        q = q.where(TrainingClass.institution_id == institution_id)
    today = local_date(now)
    if status in ("open", "due", "overdue"):
        q = q.where(Duty.done_at.is_(None))
        if status == "due":
            q = q.where(Duty.due_on >= today)
        elif status == "overdue":
            q = q.where(Duty.due_on < today)
    elif status == "done":
        q = q.where(Duty.done_at.is_not(None))
    rows = session.execute(q.limit(1000)).all()
    reminders: dict[int, list[DutyReminder]] = {}
    ids = [d.id for d, _ in rows]
    if ids:
        for r in session.scalars(select(DutyReminder).where(DutyReminder.duty_id.in_(ids)).order_by(DutyReminder.id)):
            reminders.setdefault(r.duty_id, []).append(r)
    return [duty_json(d, c, today, reminders.get(d.id, []), actor) for d, c in rows]


def duty_json(d: Duty, cls: TrainingClass, today: date, reminders: Sequence[DutyReminder] = (), actor: Actor | None = None) -> dict:
    status = status_of(d, today)
    return {
        "can_mark_done": actor is not None and d.done_at is None and allows(actor.role, done_by(d)),
        "id": d.id, "code": d.code, "class_id": d.class_id, "class_name": cls.name, "institution_id": cls.institution_id,
        "district_id": cls.district_id, "enrollment_id": d.enrollment_id, "region_code": d.region_code,
        "anchor": d.anchor, "anchor_name": ANCHORS.get(d.anchor, d.anchor), "anchor_date": d.anchor_date.isoformat(),
        "due_on": d.due_on.isoformat(), "days_left": (d.due_on - today).days, "status": status,
        "status_zh": STATUS_ZH[status], "clause": d.clause, "detail": d.detail, "provisional": d.provisional,
        "done_at": d.done_at.isoformat() if d.done_at else None, "done_note": d.done_note,
        "reminders": [{"stage": r.stage, "at": r.at.isoformat(), "due_on": r.due_on.isoformat()} for r in reminders],
    }


def mark_done(session: Session, actor: Actor, duty_id: int, note: str, now: datetime) -> dict:
    """The institution says the filing is done: who, when and a note, also in the audit trail.
    Marking a done duty again changes nothing."""
    duty = session.get(Duty, duty_id)
    cls = None if duty is None else session.scalar(classes_query(actor).where(TrainingClass.id == duty.class_id))
    if duty is None or cls is None:
        raise ApiError(404, "duty_not_found", f"待办事项 {duty_id} 不存在或不在您的管辖范围内")
    require(actor, done_by(duty))
    if duty.done_at is None:
        duty.done_at, duty.done_by_id, duty.done_note = now, actor.user_id, note
        audit.record(session, actor, "duty.done", "duty", duty.id, None,
                     {"code": duty.code, "due_on": duty.due_on.isoformat(), "note": note},
                     institution_id=cls.institution_id)
        session.commit()
    return duty_json(duty, cls, local_date(now), actor=actor)


def record_application(session: Session, actor: Actor, class_id: int, received_on: date, now: datetime) -> list[dict]:
    """人社 accepted the class's subsidy application on `received_on`: every rule of the region
    counted from that day (JS: eligibility review within 5 working days, js 2.2) becomes a duty
    of the reviewers. Recording the same day again changes nothing; another day is refused
    (the first record stands; a correction is a person's decision, not an overwrite)."""
    cls = visible_class(session, actor, class_id)
    require(actor, Capability.REVIEW_APPLICATIONS)
    policy = rules.region(cls.region_code)
    rules_here = [r for r in policy.deadlines if r.anchor in RECORDED_ANCHORS and r.applies_to(cls.funding.value)]
    if not rules_here:
        raise ApiError(409, "no_review_deadline", f"{policy.name}的政策没有从受理材料起算的期限，无需登记受理日期")
    if received_on > local_date(now):
        raise ApiError(422, "invalid_input", "受理日期不能晚于今天", fields=[{"field": "received_on", "message": "不能晚于今天"}])
    today = local_date(now)
    out = []
    for rule in rules_here:
        subject = f"class:{cls.id}"
        duty = session.scalar(select(Duty).where(Duty.code == rule.code, Duty.subject == subject))
        if duty is not None and duty.anchor_date != received_on:
            raise ApiError(409, "application_already_recorded",
                           f"该班已登记受理日期 {duty.anchor_date}，不能改为 {received_on}")
        if duty is None:
            d = compute_deadline(rule, received_on)
            duty = Duty(code=rule.code, subject=subject, class_id=cls.id, region_code=policy.code, anchor=rule.anchor,
                        anchor_date=received_on, due_on=d.due, clause=d.clause, detail=d.detail,
                        provisional=d.provisional, created_at=now)
            session.add(duty)
            session.flush()
            audit.record(session, actor, "duty.application_received", "duty", duty.id, None,
                         {"class_id": cls.id, "code": rule.code, "received_on": received_on.isoformat(),
                          "due_on": d.due.isoformat()}, institution_id=cls.institution_id)
        out.append(duty_json(duty, cls, today, actor=actor))
    session.commit()
    return out
