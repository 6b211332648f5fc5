"""The phone app's home: the trainee's own lessons of a day."""
from __future__ import annotations

from typing import Annotated

from flask import current_app
from pydantic import BaseModel, ConfigDict, Field

from server.api import responses
from server.api.blueprint import bp
from server.api.framework import endpoint
from server.api.schemas import PlausibleDate
from server.clock import utc_now
from server.extensions import db
from server.permissions import Capability
from server.services import trainee_home
from server.services.checkin import CheckinSettings
from server.services.scope import Actor


class MyLessonsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    #: a day in Beijing time; default today
    date: PlausibleDate | None = None
    #: only this class (one the trainee is enrolled in)
    class_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None


@endpoint(bp, "GET", "/me/lessons",
          summary="My lessons of a day (Beijing time): mode, venue and fence, times, check-in window state, my latest event",
          tag="check-in", capability=Capability.ATTEND_LESSONS, query=MyLessonsQuery, response=responses.MyLessonsOut)
def my_lessons(actor: Actor, query: MyLessonsQuery):
    return trainee_home.lessons_on(db.session, actor, query.date, utc_now(), query.class_id,
                                   current_app.config.get("CHECKIN_SETTINGS", CheckinSettings()))
