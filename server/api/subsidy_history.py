"""A trainee's subsidy history (补贴享受记录): read it, record a subsidy received elsewhere,
withdraw one recorded by mistake, record a check of the full record. The exports' subsidy
decisions read the same history (services.subsidy_history.histories)."""

from server.api import responses
from server.api.blueprint import bp
from server.api.framework import endpoint
from server.api.schemas import RetractionIn, SubsidyHistoryCheckIn, SubsidyHistoryEntryIn
from server.clock import utc_now
from server.extensions import db
from server.permissions import Capability
from server.services import subsidy_history as svc
from server.services.scope import Actor


@endpoint(bp, "GET", "/trainees/<int:trainee_id>/subsidy-history",
          summary="A trainee's subsidy history: subsidies claimed here (sealed exports of other classes), entries recorded "
                  "from the trainee's declaration or the 人社 system, and the checks of the full record",
          tag="subsidy-history", capability=Capability.SUBSIDY_HISTORY, response=responses.SubsidyHistoryOut)
def subsidy_history(actor: Actor, trainee_id: int):
    return svc.history_json(db.session, actor, trainee_id)


@endpoint(bp, "POST", "/trainees/<int:trainee_id>/subsidy-history",
          summary="Record a subsidy the trainee received outside this system (audited; counts toward the frequency limits)",
          tag="subsidy-history", capability=Capability.SUBSIDY_HISTORY, body=SubsidyHistoryEntryIn, status=201,
          response=responses.RecordSubsidyHistoryOut)
def record_subsidy_history(actor: Actor, trainee_id: int, body: SubsidyHistoryEntryIn):
    return svc.entry_json(svc.record_entry(db.session, actor, trainee_id, body, utc_now()))


@endpoint(bp, "POST", "/trainees/<int:trainee_id>/subsidy-history/<int:entry_id>/retract",
          summary="Withdraw an entry recorded by mistake (a new row naming it; audited)",
          tag="subsidy-history", capability=Capability.SUBSIDY_HISTORY, body=RetractionIn, status=201,
          response=responses.RetractSubsidyHistoryOut)
def retract_subsidy_history(actor: Actor, trainee_id: int, entry_id: int, body: RetractionIn):
    row = svc.retract_entry(db.session, actor, trainee_id, entry_id, body.reason, utc_now())
    return {"id": row.id, "retracts_id": row.retracts_id, "reason": row.note, "at": row.recorded_at.isoformat()}


@endpoint(bp, "POST", "/trainees/<int:trainee_id>/subsidy-history/checks",
          summary="Record that the trainee's full subsidy record was checked on a day (audited): from then on the "
                  "decisions apply the frequency limits as checked",
          tag="subsidy-history", capability=Capability.SUBSIDY_HISTORY, body=SubsidyHistoryCheckIn, status=201,
          response=responses.SubsidyHistoryCheckOut)
def record_subsidy_history_check(actor: Actor, trainee_id: int, body: SubsidyHistoryCheckIn):
    return svc.check_json(svc.record_check(db.session, actor, trainee_id, body, utc_now()))
