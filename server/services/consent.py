"""Biometric consent: the notice a trainee agrees to, and whether their consent is in force.
Recording a consent (and erasing templates on withdrawal) is a use case of services/trainees.py;
this module only reads, so the face and check-in services can ask it without importing trainees."""
from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Consent

#: The biometric-processing notice a trainee consents to (PIPL art. 28-29: separate consent for
#: sensitive personal information). Its version and hash are stored with every consent.
CONSENT_VERSION = "2026-11"
CONSENT_TEXT = (
    "人脸信息处理告知：为核验培训出勤的真实性（凡补必进、不进不补），本系统将在签到、签退和随机抽查时采集您的人脸照片，"
    "并与您登记的人脸模板比对。人脸信息属于敏感个人信息，仅用于出勤核验，不用于其他目的；照片和模板加密保存、"
    "仅授权人员可查看，保存期限为培训记录法定保存期限（电子记录不少于5年）。您可以随时撤回同意，撤回后系统将删除您的人脸模板，"
    "但将无法通过人脸核验签到。"
)
CONSENT_SHA256 = hashlib.sha256(CONSENT_TEXT.encode()).hexdigest()


def consent_in_force(session: Session, trainee_id: int | None) -> Consent | None:
    """The newest biometric consent row, if it grants."""
    if trainee_id is None:
        return None
    latest = session.scalar(select(Consent).where(Consent.trainee_id == trainee_id, Consent.purpose == "biometric")
                            .order_by(Consent.id.desc()).limit(1))
    return latest if latest is not None and latest.granted else None
