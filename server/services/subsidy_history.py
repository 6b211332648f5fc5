"""A trainee's subsidy history (补贴享受记录): what the regions' frequency limits count.

Two sources, one function (`histories`) that every subsidy decision reads:
- subsidies this system itself claimed: an enrollment in another class whose latest seal (the
  subsidy export) said eligible. The class being decided never counts itself;
- subsidies received elsewhere, recorded by staff from the trainee's declaration or the 人社
  system (SubsidyHistoryEntry), less those withdrawn.
A SubsidyHistoryCheck says someone checked the person's full record on a day; without one, the
rules apply the known entries and report each limit as not checked (policies.subsidy).

Who: the admin, an institution admin of an institution where the trainee is enrolled, and the
district supervisor / city reviewer in whose area the trainee is enrolled (visible_trainee).
Every write is in the audit log."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from policies import loader
from policies.model import Level as PLevel
from policies.model import PriorSubsidy
from server.clock import local_date
from server.errors import ApiError
from server.models import Enrollment, Level, Seal, SubsidyHistoryCheck, SubsidyHistoryEntry, Trainee, TrainingClass
from server.models.people import mask_resident_id
from server.permissions import Capability
from server.services import audit, rules
from server.services.scope import Actor, classes_query, require, trainee_institution, visible_trainee

SOURCE_ZH = {"declaration": "学员申报", "hrss": "人社系统查询", "other": "其他材料", "sealed_export": "本系统补贴申报（封存）"}
KIND_ZH = {"training": "培训补贴", "evaluation": "评价补贴"}


@dataclass(frozen=True)
class TraineeHistory:
    """What the rules get for one trainee: the known subsidies and the day the full record was
    last checked (None: never)."""

    entries: tuple[PriorSubsidy, ...] = ()
    checked_on: date | None = None


def histories(session: Session, trainee_ids: Iterable[int], *, except_class_id: int | None) -> dict[int, TraineeHistory]:
    """The history of each trainee, in a fixed number of queries however many trainees are asked
    for (the exports call this once per batch of enrollments). `except_class_id`: the class being
    decided, whose own seal is not an earlier subsidy."""
    ids = sorted(set(trainee_ids))
    if not ids:
        return {}
    found: dict[int, list[PriorSubsidy]] = {t: [] for t in ids}
    for tid, prior in _sealed(session, ids, except_class_id):
        found[tid].append(prior)
    for row in _recorded(session, ids):
        found[row.trainee_id].append(PriorSubsidy(
            occupation=row.occupation_code, level=PLevel(row.level.value), training_start=row.training_start,
            kind=row.kind, region=row.region_code))
    checked = dict(session.execute(
        select(SubsidyHistoryCheck.trainee_id, func.max(SubsidyHistoryCheck.checked_on))
        .where(SubsidyHistoryCheck.trainee_id.in_(ids)).group_by(SubsidyHistoryCheck.trainee_id)).all())
    return {t: TraineeHistory(_distinct(found[t]), checked.get(t)) for t in ids}


def _distinct(entries: list[PriorSubsidy]) -> tuple[PriorSubsidy, ...]:
    """One subsidy, however many sources name it: the 人社 record of a subsidy this system claimed
    is the same subsidy, and counting it twice would refuse a trainee under a yearly or total
    limit they have not reached. Same occupation, level, start date and kind is the same subsidy;
    the entry that names its region is kept (an entry without one counts everywhere)."""
    out: dict[tuple, PriorSubsidy] = {}
    for e in entries:
        key = (e.occupation, e.level, e.training_start, e.kind)
        if key not in out or (out[key].region is None and e.region is not None):
            out[key] = e
    return tuple(sorted(out.values(), key=lambda e: (e.training_start, e.occupation, e.level.rank, e.kind)))


def _sealed_rows(session: Session, ids: list[int], except_class_id: int | None):
    """(enrollment, trainee, class, latest seal's figure) for every enrollment of these trainees in
    another class that was sealed. Seals are read once per class, and only the latest one."""
    e, c = Enrollment.__table__, TrainingClass.__table__
    q = (select(e.c.id, e.c.trainee_id, c.c.id.label("class_id"), c.c.name, c.c.occupation_code, c.c.level,
                c.c.starts_on, c.c.region_code)
         .join(c, c.c.id == e.c.class_id).where(e.c.trainee_id.in_(ids)))
    if except_class_id is not None:
        q = q.where(c.c.id != except_class_id)
    rows = session.execute(q).all()
    if not rows:
        return []
    latest = select(func.max(Seal.id)).where(Seal.class_id.in_({r.class_id for r in rows})).group_by(Seal.class_id)
    seals = {s.class_id: s for s in session.execute(
        select(Seal.id, Seal.class_id, Seal.sealed_at, Seal.figures).where(Seal.id.in_(latest)))}
    out = []
    for r in rows:
        seal = seals.get(r.class_id)
        if seal is not None:
            out.append((r, seal, (seal.figures or {}).get(str(r.id)) or {}))
    return out


def _sealed(session: Session, ids: list[int], except_class_id: int | None) -> list[tuple[int, PriorSubsidy]]:
    # Only eligible=True counts: a refused or still-to-review figure was not a subsidy claimed.
    return [(r.trainee_id, PriorSubsidy(occupation=r.occupation_code, level=PLevel(Level(r.level).value),
                                        training_start=r.starts_on, kind="training", region=r.region_code))
            for r, _, figure in _sealed_rows(session, ids, except_class_id) if figure.get("eligible") is True]


def _recorded(session: Session, ids: list[int]) -> list[SubsidyHistoryEntry]:
    """Recorded entries still in force: neither a withdrawal nor withdrawn."""
    withdrawn = select(SubsidyHistoryEntry.retracts_id).where(SubsidyHistoryEntry.retracts_id.is_not(None))
    return list(session.scalars(
        select(SubsidyHistoryEntry).where(SubsidyHistoryEntry.trainee_id.in_(ids), SubsidyHistoryEntry.retracts_id.is_(None),
                                          SubsidyHistoryEntry.id.not_in(withdrawn))
        .order_by(SubsidyHistoryEntry.id)))


# --- the API's use cases -------------------------------------------------------------------------



def _trainee(session: Session, actor: Actor, trainee_id: int) -> Trainee:
    require(actor, Capability.SUBSIDY_HISTORY)
    return visible_trainee(session, actor, trainee_id)


def _in_lifetime(trainee: Trainee, day: date, field: str, what: str, now: datetime) -> None:
    """Neither in the future nor before the trainee was born: either is a typing mistake, and a
    check dated so would pass for a check of the record."""
    if day > local_date(now):
        raise ApiError(422, "invalid_input", f"{what}不能晚于今天（{local_date(now)}）",
                       fields=[{"field": field, "message": f"{what}不能晚于今天"}])
    if day <= trainee.birth_date:
        raise ApiError(422, "invalid_input", f"{what} {day} 早于学员出生日期，请核对",
                       fields=[{"field": field, "message": "早于学员出生日期"}])


def record_entry(session: Session, actor: Actor, trainee_id: int, data, now: datetime) -> SubsidyHistoryEntry:
    """Record one subsidy the trainee received outside this system."""
    trainee = _trainee(session, actor, trainee_id)
    occupation = rules.canonical_occupation(data.occupation_code)
    if data.region_code is not None and data.region_code not in loader.region_codes():
        known = "、".join(loader.region_codes())
        raise ApiError(422, "unknown_region", f"未知地区 {data.region_code!r}，可选：{known}（不限地区则不填）",
                       fields=[{"field": "region_code", "message": f"未知地区，可选：{known}"}])
    _in_lifetime(trainee, data.training_start, "training_start", "培训开始日期", now)
    entry = SubsidyHistoryEntry(
        trainee_id=trainee.id, occupation_code=occupation, level=data.level, training_start=data.training_start,
        kind=data.kind, region_code=data.region_code, source=data.source, note=data.note or None,
        recorded_by_id=actor.user_id, recorded_by_name=actor.username, recorded_at=now)
    session.add(entry)
    session.flush()
    audit.record(session, actor, "subsidy_history.record", "trainee", trainee.id, None, _entry_audit(entry),
                 institution_id=trainee_institution(session, trainee.id, actor))
    session.commit()
    return entry


def retract_entry(session: Session, actor: Actor, trainee_id: int, entry_id: int, reason: str,
                  now: datetime) -> SubsidyHistoryEntry:
    """Withdraw an entry recorded by mistake: a new row naming it (the table is append-only)."""
    trainee = _trainee(session, actor, trainee_id)
    entry = session.get(SubsidyHistoryEntry, entry_id)
    if entry is None or entry.trainee_id != trainee.id or entry.retracts_id is not None:
        raise ApiError(404, "history_entry_not_found", f"学员 {trainee_id} 没有编号为 {entry_id} 的补贴记录")
    if session.scalar(select(SubsidyHistoryEntry.id).where(SubsidyHistoryEntry.retracts_id == entry.id)) is not None:
        raise ApiError(409, "history_entry_retracted", f"补贴记录 {entry_id} 已撤回")
    row = SubsidyHistoryEntry(
        trainee_id=trainee.id, occupation_code=entry.occupation_code, level=entry.level,
        training_start=entry.training_start, kind=entry.kind, region_code=entry.region_code, source=entry.source,
        note=reason, retracts_id=entry.id, recorded_by_id=actor.user_id, recorded_by_name=actor.username,
        recorded_at=now)
    session.add(row)
    session.flush()
    audit.record(session, actor, "subsidy_history.retract", "trainee", trainee.id, _entry_audit(entry),
                 {"retraction_id": row.id, "retracts_id": entry.id, "reason": reason},
                 institution_id=trainee_institution(session, trainee.id, actor))
    session.commit()
    return row


def record_check(session: Session, actor: Actor, trainee_id: int, data, now: datetime) -> SubsidyHistoryCheck:
    """Someone checked the trainee's full subsidy record on `checked_on`."""
    trainee = _trainee(session, actor, trainee_id)
    _in_lifetime(trainee, data.checked_on, "checked_on", "核对日期", now)
    check = SubsidyHistoryCheck(trainee_id=trainee.id, checked_on=data.checked_on, source=data.source, note=data.note or None,
                                recorded_by_id=actor.user_id, recorded_by_name=actor.username, recorded_at=now)
    session.add(check)
    session.flush()
    audit.record(session, actor, "subsidy_history.check", "trainee", trainee.id, None,
                 {"check_id": check.id, "checked_on": check.checked_on.isoformat(), "source": check.source,
                  "note": check.note, "resident_id": mask_resident_id(trainee.resident_id)},
                 institution_id=trainee_institution(session, trainee.id, actor))
    session.commit()
    return check


def _entry_audit(entry: SubsidyHistoryEntry) -> dict:
    return {"entry_id": entry.id, "occupation_code": entry.occupation_code, "level": entry.level.value,
            "training_start": entry.training_start.isoformat(), "kind": entry.kind, "region_code": entry.region_code,
            "source": entry.source, "note": entry.note}


def _occupation_name(code: str) -> str | None:
    try:
        return rules.catalog().resolve(code).name
    except Exception:  # a code the catalog dropped later still lists, without a name
        return None


def entry_json(entry: SubsidyHistoryEntry, retraction: SubsidyHistoryEntry | None = None) -> dict:
    return {
        "id": entry.id, "source": entry.source, "source_zh": SOURCE_ZH[entry.source],
        "occupation_code": entry.occupation_code, "occupation_name": _occupation_name(entry.occupation_code),
        "level": entry.level.value, "training_start": entry.training_start.isoformat(), "kind": entry.kind,
        "region_code": entry.region_code, "note": entry.note, "recorded_by": entry.recorded_by_name,
        "recorded_at": entry.recorded_at.isoformat(), "class": None,
        "retracted": None if retraction is None else {
            "id": retraction.id, "reason": retraction.note, "by": retraction.recorded_by_name,
            "at": retraction.recorded_at.isoformat()},
    }


def check_json(check: SubsidyHistoryCheck) -> dict:
    return {"id": check.id, "checked_on": check.checked_on.isoformat(), "source": check.source,
            "source_zh": SOURCE_ZH[check.source], "note": check.note, "recorded_by": check.recorded_by_name,
            "recorded_at": check.recorded_at.isoformat()}


def history_json(session: Session, actor: Actor, trainee_id: int) -> dict:
    """Everything the decisions read about one trainee, from both sources, and the checks. A
    subsidy claimed through a class the actor cannot see is listed without naming that class."""
    trainee = _trainee(session, actor, trainee_id)
    visible = set(session.scalars(classes_query(actor).with_only_columns(TrainingClass.id).where(
        TrainingClass.id.in_(select(Enrollment.class_id).where(Enrollment.trainee_id == trainee.id)))))
    sealed = []
    for r, seal, figure in _sealed_rows(session, [trainee.id], None):
        if figure.get("eligible") is not True:
            continue
        sealed.append({
            "id": None, "source": "sealed_export", "source_zh": SOURCE_ZH["sealed_export"],
            "occupation_code": r.occupation_code, "occupation_name": _occupation_name(r.occupation_code),
            "level": Level(r.level).value, "training_start": r.starts_on.isoformat(), "kind": "training",
            "region_code": r.region_code, "note": None, "recorded_by": None, "recorded_at": seal.sealed_at.isoformat(),
            "class": {"id": r.class_id, "name": r.name} if r.class_id in visible else None,
            "amount": figure.get("amount"), "retracted": None})
    rows = list(session.scalars(select(SubsidyHistoryEntry).where(SubsidyHistoryEntry.trainee_id == trainee.id)
                                .order_by(SubsidyHistoryEntry.id)))
    retractions = {r.retracts_id: r for r in rows if r.retracts_id is not None}
    recorded = [entry_json(e, retractions.get(e.id)) for e in rows if e.retracts_id is None]
    checks = list(session.scalars(select(SubsidyHistoryCheck).where(SubsidyHistoryCheck.trainee_id == trainee.id)
                                  .order_by(SubsidyHistoryCheck.checked_on.desc(), SubsidyHistoryCheck.id.desc())))
    return {
        "trainee_id": trainee.id,
        "checked_on": checks[0].checked_on.isoformat() if checks else None,
        "entries": sorted(sealed + recorded, key=lambda x: (x["training_start"], x["recorded_at"])),
        "checks": [check_json(c) for c in checks],
    }
