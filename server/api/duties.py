"""What the scheduled duties recorded, for the dashboards: deadline duties (待办事项: due and
overdue filings and reviews) and absences, scoped like classes."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from server.api import responses
from server.api.blueprint import bp
from server.api.framework import endpoint
from server.api.schemas import Id, PlausibleDate, Strict
from server.clock import utc_now
from server.extensions import db
from server.permissions import Capability
from server.services import duties as svc
from server.services.scope import Actor


class DutiesQuery(Strict):
    #: open = due + overdue (what still needs doing)
    status: Literal["open", "due", "overdue", "done", "all"] = "open"
    class_id: Id | None = None
    institution_id: Id | None = None


class DutyDoneIn(Strict):
    note: Annotated[str, Field(max_length=256)] = ""


class ApplicationReceivedIn(Strict):
    #: The day 人社 accepted the class's subsidy application (a calendar day in China)
    received_on: PlausibleDate


@endpoint(bp, "GET", "/duties", summary="Filing deadlines due / overdue / done, each with its clause (my scope)",
          tag="duties", capability=Capability.VIEW_DUTIES, query=DutiesQuery, response=list[responses.DutyOut])
def list_duties(actor: Actor, query: DutiesQuery):
    return svc.duties_for(db.session, actor, utc_now(), query.status, query.class_id, query.institution_id)


@endpoint(bp, "POST", "/duties/<int:duty_id>/done",
          summary="Mark a duty done (recorded with who, when, note): filings by the institution, reviews by 人社",
          tag="duties", capability=Capability.MARK_DUTIES_DONE, body=DutyDoneIn, response=responses.DutyDoneOut)
def duty_done(actor: Actor, duty_id: int, body: DutyDoneIn):
    return svc.mark_done(db.session, actor, duty_id, body.note, utc_now())


@endpoint(bp, "POST", "/classes/<int:class_id>/application-received",
          summary="Record the day 人社 accepted the class's subsidy application; its review deadline (JS 5 working days) becomes a duty",
          tag="duties", capability=Capability.REVIEW_APPLICATIONS, body=ApplicationReceivedIn, status=201, response=list[responses.DutyOut])
def application_received(actor: Actor, class_id: int, body: ApplicationReceivedIn):
    return svc.record_application(db.session, actor, class_id, body.received_on, utc_now())


@endpoint(bp, "GET", "/classes/<int:class_id>/absences",
          summary=("Absences recorded by the scheduler in a class's closed lessons, each with its reason and clause,"
                   " and the later events (a review approval) that superseded it"),
          tag="duties", capability=Capability.VIEW_ABSENCES, response=list[responses.ClassAbsencesOut])
def class_absences(actor: Actor, class_id: int):
    from server.services import lesson_state

    return lesson_state.absences_of_class(db.session, actor, class_id, utc_now())
