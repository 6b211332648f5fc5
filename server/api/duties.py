"""Deadline duties (待办事项) for the dashboard: due and overdue filings, scoped like classes."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal

from pydantic import Field

from ..extensions import db
from ..models import Role
from ..services import duties as svc
from ..services.scope import Actor
from . import bp
from .framework import endpoint
from .schemas import Id, Strict


class DutiesQuery(Strict):
    #: open = due + overdue (what still needs doing)
    status: Literal["open", "due", "overdue", "done", "all"] = "open"
    class_id: Id | None = None
    institution_id: Id | None = None


class DutyDoneIn(Strict):
    note: Annotated[str, Field(max_length=256)] = ""


@endpoint(bp, "GET", "/duties", summary="Filing deadlines due / overdue / done, each with its clause (my scope)",
          tag="duties", roles=svc.VIEWERS, query=DutiesQuery)
def list_duties(actor: Actor, query: DutiesQuery):
    return svc.duties_for(db.session, actor, datetime.now(timezone.utc), query.status, query.class_id, query.institution_id)


@endpoint(bp, "POST", "/duties/<int:duty_id>/done", summary="Mark a filing duty done (recorded with who, when, note)",
          tag="duties", roles=(Role.admin, Role.institution_admin), body=DutyDoneIn)
def duty_done(actor: Actor, duty_id: int, body: DutyDoneIn):
    return svc.mark_done(db.session, actor, duty_id, body.note, datetime.now(timezone.utc))
