from server.api.blueprint import bp
from server.api.framework import endpoint
from server.api.schemas import InstitutionIn, TeacherIn, VenueIn
from server.extensions import db
from server.permissions import Capability
from server.services import institutions as svc
from server.services.scope import Actor


@endpoint(bp, "POST", "/institutions", summary="Register an institution (admin)", tag="institutions",
          capability=Capability.REGISTER_INSTITUTIONS, body=InstitutionIn, status=201)
def create_institution(actor: Actor, body: InstitutionIn):
    return svc.institution_json(svc.create_institution(db.session, actor, body))


@endpoint(bp, "GET", "/institutions", summary="Institutions in my scope", tag="institutions")
def list_institutions(actor: Actor):
    return [svc.institution_json(i) for i in svc.list_institutions(db.session, actor)]


@endpoint(bp, "POST", "/venues", summary="Add a venue with its geofence and map datum", tag="institutions",
          capability=Capability.MANAGE_VENUES_AND_TEACHERS, body=VenueIn, status=201)
def create_venue(actor: Actor, body: VenueIn):
    return svc.venue_json(svc.create_venue(db.session, actor, body))


@endpoint(bp, "GET", "/institutions/<int:institution_id>/venues", summary="An institution's venues", tag="institutions")
def list_venues(actor: Actor, institution_id: int):
    return [svc.venue_json(v) for v in svc.list_venues(db.session, actor, institution_id)]


@endpoint(bp, "POST", "/teachers", summary="Add a teacher", tag="institutions",
          capability=Capability.MANAGE_VENUES_AND_TEACHERS, body=TeacherIn, status=201)
def create_teacher(actor: Actor, body: TeacherIn):
    return svc.teacher_json(svc.create_teacher(db.session, actor, body))


@endpoint(bp, "GET", "/institutions/<int:institution_id>/teachers", summary="An institution's teachers", tag="institutions")
def list_teachers(actor: Actor, institution_id: int):
    return [svc.teacher_json(t) for t in svc.list_teachers(db.session, actor, institution_id)]


@endpoint(bp, "GET", "/districts", summary="Regions' districts (reference data: id, name, city, region)", tag="institutions")
def list_districts(actor: Actor):
    return svc.list_districts(db.session)
