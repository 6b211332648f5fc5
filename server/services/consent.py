"""Consent by purpose: the notices a trainee agrees to, and whether a consent is in force.

Each purpose is consented to on its own (PIPL art. 28-29; 人脸识别技术应用安全管理办法; GB/T
41819-2022: face images are deleted after verification unless separately agreed), with its own
notice text, version and SHA-256 (POLICY §11):

- "biometric" (a): face templates and matching at check-in. Withdrawal erases the templates.
- "photo_keeping" (b): keeping check-in photos as evidence beyond verification, for the region's
  keeping period. Without it the photos go when the event's review window closes.

A notice states the region's figures (the review window, the keeping period), so its text and hash
depend on the region; the version names the wording. Recording a consent (and erasing templates
on withdrawal) is a use case of services/trainees.py; this module only reads, so the face,
check-in and retention services can ask it without importing trainees."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from policies import retention as keeping
from server.models import Consent, Enrollment, TrainingClass
from server.services import rules

BIOMETRIC = "biometric"
PHOTO_KEEPING = "photo_keeping"
PURPOSES = (BIOMETRIC, PHOTO_KEEPING)

#: The review window a notice names when no region is known (every region's default too).
DEFAULT_WINDOW_DAYS = 30

_BIOMETRIC_TEXT = (
    "人脸信息处理告知（人脸核验）：为核验培训出勤的真实性（凡补必进、不进不补），本系统将在签到、签退和随机抽查时采集您的人脸照片，"
    "并与您登记的人脸模板比对。人脸信息属于敏感个人信息，仅用于出勤核验，不用于其他目的；模板和照片加密保存、"
    "仅授权人员可查看。人脸模板保存到您撤回同意为止。签到照片核验后只保留到该次课程的复核期结束"
    "（课程结束后{days}天；复核未结束的，保留到复核结束后{days}天），随后删除，只保留照片的哈希值和核验结果；"
    "您如另行同意“留存签到照片作为证据”，照片按该同意书的期限保存。"
    "您可以随时撤回同意，撤回后系统将删除您的人脸模板，但将无法通过人脸核验签到。"
)
_PHOTO_KEEPING_TEXT = (
    "签到照片留存告知（留存签到照片作为证据）：您同意后，您签到、签退和随机抽查时拍摄的照片在核验后不删除，作为出勤证据保存，"
    "保存期限为培训结束后{years}年（所在地区培训资料的保存期限），供人社部门复核和审计；期满后删除。"
    "照片加密保存、仅授权人员可查看，不用于其他目的。本项同意与人脸核验同意相互独立：不同意本项，不影响您签到和学时，"
    "照片将在复核期（课程结束后{days}天，复核未结束的延长）结束后删除。您可以随时撤回本项同意，"
    "撤回后照片的保存期限自撤回时起缩短为复核期。"
)


@dataclass(frozen=True)
class Notice:
    purpose: str
    title: str
    version: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def as_dict(self) -> dict:
        return {"purpose": self.purpose, "title": self.title, "version": self.version, "text": self.text,
                "sha256": self.sha256}


VERSIONS = {BIOMETRIC: "2026-12", PHOTO_KEEPING: "2026-12"}
TITLES = {BIOMETRIC: "人脸核验", PHOTO_KEEPING: "留存签到照片作为证据"}


def notices(region_code: str | None) -> dict[str, Notice]:
    """Each purpose's notice with the region's figures (None: the defaults, for a page that does
    not know the trainee yet)."""
    if region_code is None:
        days, years = DEFAULT_WINDOW_DAYS, keeping.MIN_KEEP_YEARS
    else:
        policy = rules.region(region_code)
        days, years = policy.photo_review_window_days.value, keeping.keep_years(policy).value
    return {BIOMETRIC: Notice(BIOMETRIC, TITLES[BIOMETRIC], VERSIONS[BIOMETRIC], _BIOMETRIC_TEXT.format(days=days)),
            PHOTO_KEEPING: Notice(PHOTO_KEEPING, TITLES[PHOTO_KEEPING], VERSIONS[PHOTO_KEEPING],
                                  _PHOTO_KEEPING_TEXT.format(days=days, years=years))}


#: The biometric notice with the default figures (kept for callers that store a consent row
#: directly; the API records the text of the trainee's region).
CONSENT_VERSION = VERSIONS[BIOMETRIC]
CONSENT_TEXT = notices(None)[BIOMETRIC].text
CONSENT_SHA256 = notices(None)[BIOMETRIC].sha256


def trainee_region(session: Session, trainee_id: int) -> str | None:
    """The region whose notices a trainee is shown: that of their newest enrollment's class."""
    return session.scalar(select(TrainingClass.region_code).join(Enrollment, Enrollment.class_id == TrainingClass.id)
                          .where(Enrollment.trainee_id == trainee_id).order_by(Enrollment.id.desc()).limit(1))


def newest(session: Session, trainee_id: int, purpose: str = BIOMETRIC) -> Consent | None:
    return session.scalar(select(Consent).where(Consent.trainee_id == trainee_id, Consent.purpose == purpose)
                          .order_by(Consent.id.desc()).limit(1))


def consent_in_force(session: Session, trainee_id: int | None, purpose: str = BIOMETRIC) -> Consent | None:
    """The newest consent row of the purpose, if it grants."""
    if trainee_id is None:
        return None
    latest = newest(session, trainee_id, purpose)
    return latest if latest is not None and latest.granted else None


#: Versions of the biometric notice that, before consent was split by purpose, also asked to keep
#: the photos for the keeping period ("保存期限为培训记录法定保存期限（电子记录不少于5年）").
BUNDLED_KEEPING_VERSIONS = ("2026-11",)


def keeping_consented(session: Session) -> set[int]:
    """Trainees whose photos the region's keeping period applies to: their newest photo-keeping
    consent grants, or they have none and their newest biometric consent is a grant of a notice
    that itself asked to keep the photos (BUNDLED_KEEPING_VERSIONS). Why the second: those
    trainees were told their photos are kept for the period and agreed; deleting years of
    evidence behind their subsidies on the day the notice was split would be irreversible and
    was never asked for. They are shown the (b) notice like anyone, and withdrawing it (or
    re-consenting to the new biometric notice, which says photos go) ends this."""
    newest_keeping = (select(func.max(Consent.id)).where(Consent.purpose == PHOTO_KEEPING)
                      .group_by(Consent.trainee_id))
    rows = session.execute(select(Consent.trainee_id, Consent.granted).where(Consent.id.in_(newest_keeping))).all()
    decided = {trainee_id for trainee_id, _ in rows}
    kept = {trainee_id for trainee_id, granted in rows if granted}
    newest_biometric = (select(func.max(Consent.id)).where(Consent.purpose == BIOMETRIC)
                        .group_by(Consent.trainee_id))
    bundled = session.scalars(select(Consent.trainee_id).where(
        Consent.id.in_(newest_biometric), Consent.granted.is_(True),
        Consent.text_version.in_(BUNDLED_KEEPING_VERSIONS)))
    return kept | {trainee_id for trainee_id in bundled if trainee_id not in decided}
