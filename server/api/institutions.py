from flask import current_app

from server.api import responses
from server.api.blueprint import bp
from server.api.framework import endpoint
from server.api.schemas import FenceDecisionIn, InstitutionIn, TeacherIn, VenueFenceIn, VenueIn
from server.clock import utc_now
from server.config import LocationSettings
from server.extensions import db
from server.permissions import Capability
from server.services import institutions as svc
from server.services import venue_fences
from server.services.scope import Actor


def _location() -> LocationSettings:
    return current_app.config.get("LOCATION_SETTINGS") or LocationSettings()


@endpoint(bp, "POST", "/institutions", summary="Register an institution (admin)", tag="institutions",
          capability=Capability.REGISTER_INSTITUTIONS, body=InstitutionIn, status=201, response=responses.InstitutionOut)
def create_institution(actor: Actor, body: InstitutionIn):
    return svc.institution_json(svc.create_institution(db.session, actor, body))


@endpoint(bp, "GET", "/institutions", summary="Institutions in my scope", tag="institutions", response=list[responses.InstitutionOut])
def list_institutions(actor: Actor):
    return [svc.institution_json(i) for i in svc.list_institutions(db.session, actor)]


@endpoint(bp, "POST", "/venues", summary="Add a venue with its geofence and map datum", tag="institutions",
          capability=Capability.MANAGE_VENUES_AND_TEACHERS, body=VenueIn, status=201, response=responses.VenueOut)
def create_venue(actor: Actor, body: VenueIn):
    return svc.venue_json(svc.create_venue(db.session, actor, body, _location()), db.session)


@endpoint(bp, "GET", "/institutions/<int:institution_id>/venues",
          summary="An institution's venues, each with where its fence's approval stands", tag="institutions",
          response=list[responses.VenueOut])
def list_venues(actor: Actor, institution_id: int):
    return [svc.venue_json(v, db.session) for v in svc.list_venues(db.session, actor, institution_id)]


@endpoint(bp, "POST", "/venues/<int:venue_id>/fence",
          summary="Change a venue's fence or declared area (a new version: the district approves it again)",
          tag="institutions", capability=Capability.MANAGE_VENUES_AND_TEACHERS, body=VenueFenceIn, response=responses.VenueOut)
def change_fence(actor: Actor, venue_id: int, body: VenueFenceIn):
    return svc.venue_json(svc.change_fence(db.session, actor, venue_id, body, _location()), db.session)


@endpoint(bp, "GET", "/venue-fences/pending",
          summary="Venues of my district whose fence awaits approval, with the plausibility figures",
          tag="institutions", capability=Capability.APPROVE_VENUE_FENCES, response=list[responses.PendingFencesOut])
def pending_fences(actor: Actor):
    return venue_fences.pending(db.session, actor, _location())


@endpoint(bp, "POST", "/venues/<int:venue_id>/fence-decision",
          summary="Approve or reject a venue's fence as it is now, with a reason (audited; once per fence version)",
          tag="institutions", capability=Capability.APPROVE_VENUE_FENCES, body=FenceDecisionIn, status=201,
          response=responses.DecideFenceOut)
def decide_fence(actor: Actor, venue_id: int, body: FenceDecisionIn):
    row = venue_fences.decide(db.session, actor, venue_id, body.decision, body.reason, utc_now(), _location())
    return {"id": row.id, "venue_id": row.venue_id, "fence_version": row.fence_version, "decision": row.decision,
            "reason": row.reason, "at": row.at.isoformat(), "measures": row.measures}


@endpoint(bp, "POST", "/teachers", summary="Add a teacher", tag="institutions",
          capability=Capability.MANAGE_VENUES_AND_TEACHERS, body=TeacherIn, status=201, response=responses.TeacherOut)
def create_teacher(actor: Actor, body: TeacherIn):
    return svc.teacher_json(svc.create_teacher(db.session, actor, body))


@endpoint(bp, "GET", "/institutions/<int:institution_id>/teachers", summary="An institution's teachers", tag="institutions",
          response=list[responses.TeacherOut])
def list_teachers(actor: Actor, institution_id: int):
    return [svc.teacher_json(t) for t in svc.list_teachers(db.session, actor, institution_id)]


@endpoint(bp, "GET", "/districts", summary="Regions' districts (reference data: id, name, city, region)", tag="institutions",
          response=list[responses.DistrictOut])
def list_districts(actor: Actor):
    return svc.list_districts(db.session)
