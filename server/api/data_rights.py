"""A trainee's rights over their face data (PIPL art. 44-47), on the phone: what is held, who
viewed it, a copy of their own records. Withdrawing a consent is POST /trainees/<id>/consent."""
from __future__ import annotations

from urllib.parse import quote

from flask import Response, current_app

from server.api import responses
from server.api.blueprint import bp
from server.api.framework import endpoint
from server.clock import utc_now
from server.extensions import db
from server.permissions import Capability
from server.services import data_rights
from server.services.scope import Actor


@endpoint(bp, "GET", "/me/face-data",
          summary=("My face data: consents by purpose with their notices, templates, photos held and until when, "
                   "who viewed them, my requests (the request is recorded)"),
          tag="check-in", capability=Capability.ATTEND_LESSONS, response=responses.MyFaceDataOut)
def my_face_data(actor: Actor):
    return data_rights.summary(db.session, actor, current_app.extensions["hourproof_evidence"], utc_now())


@endpoint(bp, "GET", "/me/face-data/copy",
          summary="A copy of my own records (zip: records.json and the photos still held); the request is recorded",
          tag="check-in", capability=Capability.ATTEND_LESSONS, produces="application/zip")
def my_face_data_copy(actor: Actor):
    data = data_rights.copy(db.session, actor, current_app.extensions["hourproof_evidence"], utc_now())
    name = "我的人脸信息记录.zip"
    # Personal data: not to be kept by a cache on the way.
    return Response(data, mimetype="application/zip", headers={
        "Content-Disposition": f"attachment; filename=\"my-records.zip\"; filename*=UTF-8''{quote(name, safe='')}",
        "Cache-Control": "no-store"})
