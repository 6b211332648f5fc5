"""Institutions, venues and teachers."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.config import LocationSettings
from server.errors import ApiError
from server.models import City, District, FenceKind, Institution, Role, Teacher, Venue
from server.permissions import Capability
from server.services import audit, rules, venue_fences
from server.services.scope import Actor, institutions_query, require, visible_institution


def own_institution_id(actor: Actor, given: int | None) -> int:
    """Institution admins act for their own institution; the admin must say which."""
    if actor.role is Role.institution_admin:
        if given is not None and given != actor.institution_id:
            raise ApiError(404, "institution_not_found", f"培训机构 {given} 不存在或不在您的管辖范围内")
        if actor.institution_id is None:  # an institution admin without one: no institution to act for
            raise ApiError(403, "forbidden", "您的账号未关联培训机构")
        return actor.institution_id
    if given is None:
        raise ApiError(422, "invalid_input", "请指定 institution_id",
                       fields=[{"field": "institution_id", "message": "该角色须指定培训机构"}])
    return given


def district_in_region(session: Session, district_id: int, region_code: str) -> District:
    rules.region(region_code)  # unknown region -> 422
    district = session.get(District, district_id)
    if district is None:
        raise ApiError(422, "unknown_district", f"区县 {district_id} 不存在",
                       fields=[{"field": "district_id", "message": "区县不存在"}])
    if district.city.region_code != region_code:
        raise ApiError(422, "district_outside_region", f"区县 {district.name} 不属于地区 {region_code}",
                       fields=[{"field": "district_id", "message": f"该区县不在地区 {region_code} 之内"}])
    return district


def create_institution(session: Session, actor: Actor, data) -> Institution:
    require(actor, Capability.REGISTER_INSTITUTIONS)
    district_in_region(session, data.district_id, data.region_code)
    if session.scalar(select(Institution).where(Institution.uscc == data.uscc.upper())) is not None:
        raise ApiError(409, "uscc_taken", f"统一社会信用代码 {data.uscc} 已登记")
    try:
        inst = Institution(
            name=data.name, uscc=data.uscc, legal_representative=data.legal_representative, address=data.address,
            region_code=data.region_code, district_id=data.district_id, listed_on=data.listed_on,
            listed_for=[[rules.canonical_occupation(code), level.value] for code, level in data.listed_for],
        )
    except ValueError as exc:
        zh = getattr(exc, "zh", "统一社会信用代码格式不正确，请核对")
        raise ApiError(422, "invalid_uscc", zh, fields=[{"field": "uscc", "message": zh}]) from None
    session.add(inst)
    session.flush()
    audit.record(session, actor, "institution.create", "institution", inst.id, None, institution_json(inst), institution_id=inst.id)
    session.commit()
    return inst


def list_institutions(session: Session, actor: Actor) -> list[Institution]:
    return list(session.scalars(institutions_query(actor).order_by(Institution.id)))


def create_venue(session: Session, actor: Actor, data, settings: LocationSettings | None = None) -> Venue:
    """Add a venue. A fence that can never be approved (beyond the deployment's bound, or larger
    than the declared area allows) is refused here; the venue's fence then awaits the district's
    approval (services/venue_fences.py) before classes there are filed."""
    require(actor, Capability.MANAGE_VENUES_AND_TEACHERS)
    inst_id = own_institution_id(actor, data.institution_id)
    visible_institution(session, actor, inst_id)
    fields = data.model_dump(exclude={"institution_id"})
    if fields["polygon"] is not None:
        fields["polygon"] = [list(p) for p in fields["polygon"]]
    try:
        venue = Venue(institution_id=inst_id, fence_version=1, **fields)
    except ValueError as exc:
        raise ApiError(422, "invalid_input", str(exc)) from None
    refusal = venue_fences.save_refusal(venue, settings or LocationSettings())
    if refusal is not None:
        raise refusal
    session.add(venue)
    session.flush()
    audit.record(session, actor, "venue.create", "venue", venue.id, None, venue_json(venue), institution_id=inst_id)
    session.commit()
    return venue


def change_fence(session: Session, actor: Actor, venue_id: int, data, settings: LocationSettings | None = None) -> Venue:
    """Change a venue's fence (datum, shape, coordinates) or declared area: a new fence version,
    which needs the district's approval again before more classes there are filed (and until
    then check-ins there are flagged for review). The same numbers again change nothing."""
    require(actor, Capability.MANAGE_VENUES_AND_TEACHERS)
    venue = session.get(Venue, venue_id)
    if venue is None:
        raise ApiError(404, "venue_not_found", f"培训场地 {venue_id} 不存在或不在您的管辖范围内")
    visible_institution(session, actor, venue.institution_id)
    before = venue_json(venue)
    digest = venue.fence_digest
    fields = data.model_dump()
    if fields["polygon"] is not None:
        fields["polygon"] = [list(p) for p in fields["polygon"]]
    if fields["fence_kind"] == FenceKind.circle:
        fields["polygon"] = None
    else:
        fields["centre_lat"] = fields["centre_lon"] = fields["radius_m"] = None
    try:
        for key, value in fields.items():
            setattr(venue, key, value)
    except ValueError as exc:
        session.rollback()
        raise ApiError(422, "invalid_input", str(exc)) from None
    refusal = venue_fences.save_refusal(venue, settings or LocationSettings())
    if refusal is not None:
        session.rollback()
        raise refusal
    if venue.fence_digest != digest:
        venue.fence_version += 1
    session.flush()
    audit.record(session, actor, "venue.change_fence", "venue", venue.id, before, venue_json(venue),
                 institution_id=venue.institution_id)
    session.commit()
    return venue


def list_venues(session: Session, actor: Actor, institution_id: int) -> list[Venue]:
    visible_institution(session, actor, institution_id)
    return list(session.scalars(select(Venue).where(Venue.institution_id == institution_id).order_by(Venue.id)))


def create_teacher(session: Session, actor: Actor, data) -> Teacher:
    require(actor, Capability.MANAGE_VENUES_AND_TEACHERS)
    inst_id = own_institution_id(actor, data.institution_id)
    visible_institution(session, actor, inst_id)
    teacher = Teacher(institution_id=inst_id, **data.model_dump(exclude={"institution_id"}))
    session.add(teacher)
    session.flush()
    audit.record(session, actor, "teacher.create", "teacher", teacher.id, None, teacher_json(teacher), institution_id=inst_id)
    session.commit()
    return teacher


def list_teachers(session: Session, actor: Actor, institution_id: int) -> list[Teacher]:
    visible_institution(session, actor, institution_id)
    return list(session.scalars(select(Teacher).where(Teacher.institution_id == institution_id).order_by(Teacher.id)))


def institution_json(inst: Institution) -> dict:
    return {
        "id": inst.id, "name": inst.name, "uscc": inst.uscc, "legal_representative": inst.legal_representative,
        "address": inst.address, "region_code": inst.region_code, "district_id": inst.district_id,
        "listed_on": inst.listed_on.isoformat() if inst.listed_on else None, "listed_for": inst.listed_for,
    }


def venue_json(v: Venue, session: Session | None = None) -> dict:
    """The venue; with a session, also where its fence's approval stands (`fence_approval`)."""
    out = {
        "id": v.id, "institution_id": v.institution_id, "name": v.name, "address": v.address, "area_m2": v.area_m2,
        "capacity": v.capacity, "datum": v.datum.value, "fence_kind": v.fence_kind.value, "centre_lat": v.centre_lat,
        "centre_lon": v.centre_lon, "radius_m": v.radius_m, "polygon": v.polygon, "max_accuracy_m": v.max_accuracy_m,
        "fence_version": v.fence_version,
    }
    if session is not None:
        state = venue_fences.approval(session, v)
        out["fence_approval"] = {**state, "status_text": venue_fences.STATUS_WORDS[state["status"]]}
    return out


def teacher_json(t: Teacher) -> dict:
    return {"id": t.id, "institution_id": t.institution_id, "name": t.name, "employer": t.employer, "title": t.title,
            "full_time": t.full_time}


def list_districts(session: Session) -> list[dict]:
    """Every district with its city and region: public reference data (administrative divisions)."""
    rows = session.execute(select(District, City).join(City, District.city_id == City.id)
                           .order_by(City.region_code, City.adcode, District.adcode))
    return [{"id": d.id, "name": d.name, "adcode": d.adcode, "city": c.name, "region_code": c.region_code}
            for d, c in rows]
