"""The deployment's duties as a processor of face data (POLICY §12), for the admin: the count of
people with face data, the cyberspace-office filing duty, keeping periods per region, and the
impact-assessment (PIA) draft as a PDF."""
from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from flask import Response, current_app
from pydantic import Field

from server.api import responses
from server.api.blueprint import bp
from server.api.framework import endpoint
from server.api.schemas import Strict
from server.clock import utc_now
from server.extensions import db
from server.permissions import Capability
from server.services import privacy
from server.services.scope import Actor


class FilingDoneIn(Strict):
    #: The cyberspace office's receipt or filing number (备案编号), as evidence the duty was met
    receipt: Annotated[str, Field(min_length=1, max_length=128)]


def _overview(actor: Actor) -> dict:
    settings = current_app.config["HOURPROOF_SETTINGS"]
    return privacy.overview(db.session, actor, utc_now(), settings, current_app.extensions["hourproof_keyring"],
                            settings.database_url)


@endpoint(bp, "GET", "/privacy", summary=("Face data the deployment holds: people counted, the cyberspace-office "
                                          "filing duty past 100,000, keeping periods per region with clauses, sealing"),
          tag="privacy", capability=Capability.PROTECT_FACE_DATA, response=responses.PrivacyOut)
def privacy_overview(actor: Actor):
    return _overview(actor)


@endpoint(bp, "POST", "/privacy/filing-done", summary="Record the cyberspace-office filing as done, with its receipt number",
          tag="privacy", capability=Capability.PROTECT_FACE_DATA, body=FilingDoneIn, response=responses.PrivacyOut)
def privacy_filing_done(actor: Actor, body: FilingDoneIn):
    privacy.mark_filing_done(db.session, actor, body.receipt, utc_now())
    return _overview(actor)


@endpoint(bp, "GET", "/privacy/pia.pdf", summary="The personal-information impact assessment draft, filled from the settings",
          tag="privacy", capability=Capability.PROTECT_FACE_DATA, produces="application/pdf")
def privacy_pia(actor: Actor):
    from recognition.faces import MODEL_NAME
    from server.exports.pia import pia_pdf
    from server.services import consent

    data = _overview(actor)
    notices = {k: n.as_dict() for k, n in consent.notices(None).items()}
    pdf = pia_pdf(data, notices, MODEL_NAME, utc_now())
    name = "个人信息保护影响评估（人脸信息）.pdf"
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f"attachment; filename=\"pia.pdf\"; filename*=UTF-8''{quote(name, safe='')}"})
