"""A trainee's rights over their face data (PIPL art. 44-47), on their own phone: see what is
held (consents by purpose, templates, how many photos since when and kept until when, who viewed
them: the audit log records every view), download a copy of their own records, and withdraw a
consent (services/trainees.record_consent, the same path staff use for a paper form). Each
request is recorded in the audit log (rights.access, rights.copy) and answered at once; the page
lists the trainee's own requests."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, time
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from policies import retention as keeping
from policies.deadlines import add_months
from server.clock import at_local
from server.errors import ApiError
from server.models import AuditEntry, Consent, Event, FaceTemplate, Lesson, TemplateDecision, Trainee, TrainingClass
from server.permissions import Capability
from server.services import audit, consent, rules
from server.services.privacy import FACE_KINDS
from server.services.retention import frames_of
from server.services.scope import Actor, require

VIEW_ACTIONS = {"evidence.view_frame": "查看了签到照片", "evidence.view_enrolment_photo": "查看了登记照片"}
REQUEST_WORDS = {"rights.access": "查询本人人脸信息", "rights.copy": "下载本人记录副本",
                 "consent.grant": "同意人脸核验", "consent.withdraw": "撤回人脸核验同意",
                 "consent.photo_keeping.grant": "同意留存签到照片", "consent.photo_keeping.withdraw": "撤回留存签到照片同意",
                 "consent.refuse_biometric": "不同意人脸识别"}
ROLE_WORDS = {"admin": "系统管理员", "institution_admin": "培训机构管理员", "teacher": "教师",
              "district_supervisor": "区县人社", "city_reviewer": "市级人社", "trainee": "本人"}
#: The newest views and requests listed (the audit log keeps them all)
LIST_LIMIT = 50


def _trainee(session: Session, actor: Actor) -> Trainee:
    require(actor, Capability.ATTEND_LESSONS)
    if actor.trainee_id is None:
        raise ApiError(403, "forbidden", "只有学员本人可以查询本人的人脸信息")
    return session.get_one(Trainee, actor.trainee_id)


def _face_events(session: Session, trainee_id: int):
    return session.execute(
        select(Event.id, Event.kind, Event.at, Event.verdict, Event.evidence, Event.reasons, Event.class_id,
               Lesson.ends_at)
        .join(Lesson, Lesson.id == Event.lesson_id)
        .where(Event.trainee_id == trainee_id, Event.kind.in_(FACE_KINDS)).order_by(Event.id)).all()


def _photos(session: Session, trainee_id: int, store, now: datetime) -> dict[str, Any]:
    """How many photos are held and until when, by the keeping rule (policies/retention.py)."""
    rows = _face_events(session, trainee_id)
    decided = dict(session.execute(select(Event.decides_event_id, Event.at).where(
        Event.kind == "review_decision", Event.decides_event_id.in_([r.id for r in rows]))).all())
    keeps = trainee_id in consent.keeping_consented(session)
    held, first, last, until, open_reviews = 0, None, None, None, 0
    classes: dict[int, TrainingClass] = {}
    for r in rows:
        frames = frames_of(r.evidence)
        present = sum(1 for h in frames if store.exists(h))
        if not present:
            continue
        held += present
        first = first or r.at
        last = r.at
        cls = classes.setdefault(r.class_id, session.get_one(TrainingClass, r.class_id))
        policy = rules.region(cls.region_code)
        rule = keeping.frame_keeping(r.ends_at, policy.photo_review_window_days,
                                     review_open=r.verdict == "flagged" and r.id not in decided,
                                     reviewed_at=decided.get(r.id), keeping_consented=keeps)
        if rule.kind == "review_open":
            open_reviews += 1
            continue
        end = rule.until
        if rule.kind == "region_retention":
            years = keeping.keep_years(policy).value
            end = at_local(add_months(cls.ends_on, 12 * years), time(0), cls.region_code)
        until = end if until is None or (end is not None and end > until) else until
    if keeps:
        rule_words = "您已同意留存签到照片：照片按所在地区培训资料保存期限保存（培训结束后至少5年），期满删除"
    else:
        rule_words = "您未同意留存签到照片：每次签到的照片在该次课程复核期结束后删除，只保留哈希值和核验结果"
    return {"count": held, "first_at": first.isoformat() if first else None, "last_at": last.isoformat() if last else None,
            "kept_until": until.isoformat() if until else None, "open_reviews": open_reviews, "rule": rule_words}


def _templates(session: Session, trainee_id: int) -> dict[str, Any]:
    rows = session.execute(select(FaceTemplate.id, FaceTemplate.created_at, FaceTemplate.erased_at,
                                  TemplateDecision.decision)
                           .outerjoin(TemplateDecision, TemplateDecision.template_id == FaceTemplate.id)
                           .where(FaceTemplate.trainee_id == trainee_id).order_by(FaceTemplate.id)).all()
    live = [r for r in rows if r.erased_at is None and r.decision != "reject"]
    return {"held": len(live), "since": live[0].created_at.isoformat() if live else None,
            "erased": sum(1 for r in rows if r.erased_at is not None),
            "kept_until": "撤回人脸核验同意时删除" if live else None}


def _views(session: Session, trainee_id: int) -> list[dict[str, Any]]:
    event_ids = select(Event.id).where(Event.trainee_id == trainee_id)
    template_ids = select(FaceTemplate.id).where(FaceTemplate.trainee_id == trainee_id)
    rows = session.scalars(select(AuditEntry).where(
        AuditEntry.action.in_(list(VIEW_ACTIONS)),
        or_((AuditEntry.entity == "event") & AuditEntry.entity_id.in_(event_ids),
            (AuditEntry.entity == "face_template") & AuditEntry.entity_id.in_(template_ids)))
        .order_by(AuditEntry.id.desc()).limit(LIST_LIMIT)).all()
    return [{"at": a.at.isoformat(), "who": f"{ROLE_WORDS.get(a.actor_role, a.actor_role)} {a.actor_name}",
             "what": VIEW_ACTIONS[a.action]} for a in rows]


def _requests(session: Session, actor: Actor, trainee_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(select(AuditEntry).where(
        AuditEntry.action.in_(list(REQUEST_WORDS)), AuditEntry.entity == "trainee", AuditEntry.entity_id == trainee_id)
        .order_by(AuditEntry.id.desc()).limit(LIST_LIMIT)).all()
    return [{"at": a.at.isoformat(), "what": REQUEST_WORDS[a.action],
             "by": "本人（手机）" if a.actor_id == actor.user_id else f"{ROLE_WORDS.get(a.actor_role, a.actor_role)}代为登记",
             "answer": "已办理"} for a in rows]


def _consents(session: Session, trainee_id: int) -> list[dict[str, Any]]:
    notices = consent.notices(consent.trainee_region(session, trainee_id))
    out = []
    for purpose, notice in notices.items():
        newest = consent.newest(session, trainee_id, purpose)
        out.append({**notice.as_dict(),
                    "state": "none" if newest is None else "granted" if newest.granted else "withdrawn",
                    "at": newest.at.isoformat() if newest else None,
                    "agreed_version": newest.text_version if newest else None})
    return out


def summary(session: Session, actor: Actor, store, now: datetime) -> dict[str, Any]:
    """What the phone's 我的人脸信息 page shows; the request is recorded (PIPL art. 45)."""
    trainee = _trainee(session, actor)
    audit.record(session, actor, "rights.access", "trainee", trainee.id, None, None)
    session.commit()
    return {"consents": _consents(session, trainee.id), "templates": _templates(session, trainee.id),
            "photos": _photos(session, trainee.id, store, now), "views": _views(session, trainee.id),
            "requests": _requests(session, actor, trainee.id)}


def copy(session: Session, actor: Actor, store, now: datetime) -> bytes:
    """A zip of the trainee's own records (PIPL art. 45): records.json (consents, templates'
    dates, check-in events with their verdicts and reasons, views of their photos) and the
    photos still held. Recorded as a request."""
    trainee = _trainee(session, actor)
    consents = session.scalars(select(Consent).where(Consent.trainee_id == trainee.id).order_by(Consent.id)).all()
    events = _face_events(session, trainee.id)
    event_records: list[dict[str, Any]] = []
    records: dict[str, Any] = {
        "trainee": {"name": trainee.name, "phone": trainee.phone},
        "generated_at": now.isoformat(),
        "consents": [{"purpose": c.purpose, "granted": c.granted, "text_version": c.text_version,
                      "text_sha256": c.text_sha256, "channel": c.channel, "at": c.at.isoformat()} for c in consents],
        "templates": _templates(session, trainee.id),
        "events": event_records, "views": _views(session, trainee.id),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for r in events:
            frames = frames_of(r.evidence)
            files = []
            for i, digest in enumerate(frames):
                if not store.exists(digest):
                    continue
                name = f"photos/{r.id}-{i + 1}.jpg"
                z.writestr(name, store.get(digest))  # get() opens the sealed file and checks its hash
                files.append(name)
            event_records.append({"id": r.id, "kind": r.kind, "at": r.at.isoformat(), "verdict": r.verdict,
                                      "reasons": [x.get("detail") for x in r.reasons or [] if isinstance(x, dict)],
                                      "photos": files, "photos_deleted": len(frames) - len(files)})
        z.writestr("records.json", json.dumps(records, ensure_ascii=False, indent=2))
    audit.record(session, actor, "rights.copy", "trainee", trainee.id, None, {"events": len(events)})
    session.commit()
    return buffer.getvalue()

