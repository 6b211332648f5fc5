"""The deployment's duties as a processor of face data (POLICY §12): how many people's face data it
holds, the filing with the provincial cyberspace office once that passes 100,000 (within 30
working days), the keeping periods per region, and what the impact assessment (PIA) states.

The filing duty is derived, not stored: the day the count first reached the threshold is the day
the threshold-th person's first face template was made (templates are never deleted, only
erased, so this day never moves), and marking it done is an audit entry (append-only: who, when,
the office's receipt number). Counting errs on the side of filing: a person counts while they
hold a template that is not erased, or have face check-in events (their photos may still be kept)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, select, union
from sqlalchemy.orm import Session

from policies import loader
from policies import retention as keeping
from policies.deadlines import shift_working_days
from server.clock import local_date
from server.errors import ApiError
from server.models import AuditEntry, Consent, Event, FaceTemplate
from server.permissions import Capability, roles_for
from server.services import audit, consent, rules
from server.services.scope import Actor, require

#: 人脸识别技术应用安全管理办法: filing within 30 working days of holding 100,000 people's face data.
FILING_THRESHOLD = 100_000
FILING_WORKING_DAYS = 30
FILING_CLAUSE = "POLICY §12"
FILING_DONE = "privacy.filing_done"
#: Events whose evidence holds face photos (a teacher's attestation for a trainee without a face
#: check holds none, but counting it too only errs towards filing).
FACE_KINDS = ("check_in", "check_out", "spot_check")
ROLE_WORDS = {"admin": "系统管理员", "institution_admin": "机构管理员", "teacher": "教师",
              "district_supervisor": "区县人社监管", "city_reviewer": "市级复核", "trainee": "学员"}


def people_with_face_data(session: Session) -> int:
    with_template = select(FaceTemplate.trainee_id).where(FaceTemplate.erased_at.is_(None),
                                                          func.length(FaceTemplate.template) > 0)
    with_events = select(Event.trainee_id).where(Event.kind.in_(FACE_KINDS), Event.trainee_id.is_not(None),
                                                 Event.trainee_id.in_(select(FaceTemplate.trainee_id)))
    people = union(with_template, with_events).subquery()
    return session.scalar(select(func.count()).select_from(people)) or 0


def threshold_reached_on(session: Session, threshold: int | None = None) -> date | None:
    """The day (Beijing) the threshold-th person's first face template was made; None if fewer."""
    threshold = threshold or FILING_THRESHOLD
    firsts = (select(func.min(FaceTemplate.created_at).label("first")).group_by(FaceTemplate.trainee_id)
              .subquery())
    at = session.scalar(select(firsts.c.first).order_by(firsts.c.first).offset(threshold - 1).limit(1))
    return None if at is None else local_date(at)


@dataclass(frozen=True)
class FilingDuty:
    reached_on: date
    due_on: date
    provisional: bool
    done_at: datetime | None
    done_by: str | None
    receipt: str | None
    threshold: int

    def status(self, today: date) -> str:
        if self.done_at is not None:
            return "done"
        return "overdue" if today > self.due_on else "due"

    def detail(self) -> str:
        note = "（该年度法定节假日安排尚未收录，按周一至周五计算）" if self.provisional else ""
        return (f"本系统处理人脸信息的人数已于 {self.reached_on} 达到 {self.threshold:,} 人：应在 30 个工作日内"
                f"（最迟 {self.due_on}）向所在地省级网信部门履行备案手续{note}")


def filing_duty(session: Session, threshold: int | None = None) -> FilingDuty | None:
    reached = threshold_reached_on(session, threshold)
    if reached is None:
        return None
    due, provisional = shift_working_days(reached, FILING_WORKING_DAYS)
    done = session.scalar(select(AuditEntry).where(AuditEntry.action == FILING_DONE).order_by(AuditEntry.id.desc()).limit(1))
    return FilingDuty(reached, due, provisional, done.at if done else None, done.actor_name if done else None,
                      (done.after or {}).get("receipt") if done else None, threshold or FILING_THRESHOLD)


def mark_filing_done(session: Session, actor: Actor, receipt: str, now: datetime,
                     threshold: int | None = None) -> FilingDuty:
    require(actor, Capability.PROTECT_FACE_DATA)
    duty = filing_duty(session, threshold)
    if duty is None:
        raise ApiError(409, "filing_not_due", f"处理人脸信息的人数尚未达到 {threshold or FILING_THRESHOLD:,} 人，无需备案")
    if duty.done_at is not None:
        return duty  # a retried request records nothing twice
    audit.record(session, actor, FILING_DONE, "deployment", None, None,
                 {"receipt": receipt, "reached_on": duty.reached_on.isoformat(), "due_on": duty.due_on.isoformat()})
    session.commit()
    return filing_duty(session, threshold) or duty


def keeping_by_region() -> list[dict]:
    """Each region's keeping periods for face data, with the clause each comes from."""
    out = []
    for code in loader.region_codes():
        policy = rules.region(code)
        years = keeping.keep_years(policy)
        window = policy.photo_review_window_days
        attested = policy.attested_check_ins
        out.append({"region": code, "name": policy.name,
                    "evidence_years": years.value, "evidence_clause": years.clause,
                    "photo_window_days": window.value, "photo_window_clause": window.clause,
                    "attested_check_ins": attested.value, "attested_clause": attested.clause})
    return out


def _consent_counts(session: Session) -> dict[str, int]:
    newest = (select(func.max(Consent.id)).where(Consent.purpose == consent.BIOMETRIC).group_by(Consent.trainee_id))
    rows = session.execute(select(Consent.granted, func.count()).where(Consent.id.in_(newest))
                           .group_by(Consent.granted)).all()
    counts = {bool(granted): n for granted, n in rows}
    return {"face_consent_in_force": counts.get(True, 0), "face_refused_or_withdrawn": counts.get(False, 0),
            "photo_keeping_in_force": len(consent.keeping_consented(session))}


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def overview(session: Session, actor: Actor, now: datetime, settings, keyring, database_url: str,
             threshold: int | None = None) -> dict:
    """What the admin's 个人信息保护 panel and the PIA show."""
    require(actor, Capability.PROTECT_FACE_DATA)
    duty = filing_duty(session, threshold)
    today = local_date(now)
    keys_inside = _inside(keyring.path, settings.data_dir)
    return {
        "people_with_face_data": people_with_face_data(session),
        "filing_threshold": threshold or FILING_THRESHOLD,
        "filing": None if duty is None else {
            "reached_on": duty.reached_on.isoformat(), "due_on": duty.due_on.isoformat(), "provisional": duty.provisional,
            "status": duty.status(today), "detail": duty.detail(), "clause": FILING_CLAUSE,
            "done_at": duty.done_at.isoformat() if duty.done_at else None, "done_by": duty.done_by,
            "receipt": duty.receipt},
        "consents": _consent_counts(session),
        "keeping": keeping_by_region(),
        "sealing": {"keys": len(keyring.key_ids()), "primary": keyring.primary, "key_file_in_data_dir": keys_inside,
                    "warning": ("密钥文件位于数据目录内：复制整个数据目录即可解密人脸数据。生产环境请用 HOURPROOF_DATA_KEYS_FILE "
                                "将其放在数据目录及其备份之外") if keys_inside else None},
        "database": "PostgreSQL" if database_url.startswith("postgresql") else "SQLite",
        "who_sees_photos": sorted(ROLE_WORDS[r.value] for r in roles_for(Capability.VIEW_FRAMES)),
        "who_reviews": sorted(ROLE_WORDS[r.value] for r in roles_for(Capability.REVIEW_EVENTS)),
    }
