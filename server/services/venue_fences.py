"""区县人社's approval of venue fences: a fence decides where check-ins count, so the district
approves it before a class at the venue is filed.

A venue's fence has a version (Venue.fence_version): changing the datum, the shape, the
coordinates or the declared area makes a new version, which needs a decision of its own. A
decision is a row (VenueFenceDecision: append-only, one per version) holding the fence as it was
decided and its digest, so an approval of other numbers is no approval. Every decision is in the
audit trail too.

A fence must be plausible to be approved (policies.geofence.fence_plausibility: bounded by a
setting and by the venue's declared area); a venue without a declared area cannot be approved.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from policies import geofence
from policies.model import Reason
from server.config import LocationSettings
from server.errors import ApiError
from server.models import Institution, Venue, VenueFenceDecision
from server.permissions import Capability
from server.services import audit
from server.services.scope import Actor, institutions_query, require, visible_institution

STATUS_WORDS = {"approved": "已审核通过", "rejected": "审核未通过", "pending": "待区县人社审核"}
DECISION_WORDS = {"approve": "通过", "reject": "不通过"}


def limits(settings: LocationSettings) -> geofence.FenceLimits:
    return geofence.FenceLimits(max_extent_m=settings.max_fence_extent_m, margin_m=settings.fence_margin_m)


def fence_of(venue: Venue) -> geofence.Fence:
    r = venue.fence_record()
    return geofence.fence_from_record(r["fence_kind"], r["datum"], lat=r["centre_lat"], lon=r["centre_lon"],
                                      radius_m=r["radius_m"], points=r["polygon"])


def plausibility(venue: Venue, settings: LocationSettings) -> geofence.FencePlausibility:
    """Whether the venue's fence fits the limits and its declared area (a shape that is not a
    fence at all is not plausible either)."""
    try:
        fence = fence_of(venue)
    except geofence.FenceError as exc:
        return geofence.FencePlausibility(
            (Reason("fence_invalid", geofence.FENCE_CLAUSE, f"场地围栏不是有效的形状（{exc.code}）：请重新划定围栏"),),
            {"declared_area_m2": venue.area_m2})
    return geofence.fence_plausibility(fence, venue.area_m2, limits(settings))


def _decision(session: Session, venue: Venue) -> VenueFenceDecision | None:
    return session.scalar(select(VenueFenceDecision).where(VenueFenceDecision.venue_id == venue.id,
                                                           VenueFenceDecision.fence_version == venue.fence_version))


def approval(session: Session, venue: Venue) -> dict[str, Any]:
    """approved | rejected | pending for the venue's fence as it is now, with the decision."""
    d = _decision(session, venue)
    if d is None or d.fence_digest != venue.fence_digest:  # no decision, or one on other numbers
        return {"status": "pending", "fence_version": venue.fence_version, "decision": None}
    return {"status": "approved" if d.decision == "approve" else "rejected", "fence_version": venue.fence_version,
            "decision": {"id": d.id, "decision": d.decision, "reason": d.reason, "at": d.at.isoformat(),
                         "decided_by_id": d.decided_by_id}}


def unapproved(session: Session, venue_ids: Iterable[int]) -> list[tuple[Venue, str]]:
    """The venues among `venue_ids` whose fence is not approved, with their status."""
    out = []
    for venue in session.scalars(select(Venue).where(Venue.id.in_(set(venue_ids))).order_by(Venue.id)):
        status = approval(session, venue)["status"]
        if status != "approved":
            out.append((venue, status))
    return out


def save_refusal(venue: Venue, settings: LocationSettings) -> ApiError | None:
    """A fence that can never be approved is refused when it is saved (a missing declared area
    is not refused here: the venue is kept, and cannot be approved until the area is given)."""
    check = plausibility(venue, settings)
    blocking = [r for r in check.reasons if r.code != "venue_area_missing"]
    if not blocking:
        return None
    return ApiError(422, blocking[0].code, "场地围栏与场地不符，未保存：" + "；".join(r.detail for r in blocking),
                    reasons=[r.as_dict() for r in blocking], measures=check.measures)


def refusal_text(venues: list[tuple[Venue, str]]) -> str:
    """Why a plan at these venues is not filed, naming each venue, and what to do."""
    named = "、".join(f"“{v.name}”（{STATUS_WORDS[status]}）" for v, status in venues)
    return (f"培训场地 {named} 的电子围栏尚未经区县人社审核通过，不能备案：请在场地管理中核对围栏和场地面积，"
            "待区县人社审核通过后再备案")


#: The district's other venues a pending fence is shown with on the reviewer's map: those within
#: this distance of its centre, near enough to share the map with it and still leave the fence
#: readable (map.js's caption says "1 公里"). A fence drawn over another institution's site, or two
#: institutions declaring the same rooms, shows at a glance.
NEARBY_M = 1000.0


def pending(session: Session, actor: Actor, settings: LocationSettings) -> list[dict[str, Any]]:
    """The venues of the actor's district whose fence as it is now has no decision, oldest first,
    each with the plausibility figures the decision needs and the district's venues near it
    (`nearby`, for the map: each with its fence and where its approval stands)."""
    require(actor, Capability.APPROVE_VENUE_FENCES)
    inst_ids = institutions_query(actor).with_only_columns(Institution.id)
    venues = [(venue, inst_name, approval(session, venue)["status"]) for venue, inst_name in session.execute(
        select(Venue, Institution.name).join(Institution, Institution.id == Venue.institution_id)
        .where(Venue.institution_id.in_(inst_ids)).order_by(Venue.id))]
    centres = {venue.id: _centre_wgs84(venue) for venue, _name, _status in venues}
    out = []
    for venue, inst_name, status in venues:
        if status != "pending":
            continue
        check = plausibility(venue, settings)
        here = centres[venue.id]
        nearby = [{"id": v.id, "name": v.name, "institution": name, "status": s, **v.fence_record()}
                  for v, name, s in venues
                  if v.id != venue.id and here is not None and (there := centres[v.id]) is not None
                  and geofence.distance_m(here, there) <= NEARBY_M]
        out.append({"venue": venue_fence_json(venue), "institution": {"id": venue.institution_id, "name": inst_name},
                    "plausible": check.plausible, "reasons": [r.as_dict() for r in check.reasons],
                    "measures": check.measures, "nearby": nearby})
    return out


def _centre_wgs84(venue: Venue) -> tuple[float, float] | None:
    """Where a venue is, in WGS-84 (a polygon's corners averaged); None for a fence that is no shape."""
    r = venue.fence_record()
    try:
        if r["fence_kind"] == "circle":
            lat, lon = float(r["centre_lat"]), float(r["centre_lon"])
        else:
            points = r["polygon"] or []
            lat, lon = (sum(float(p[i]) for p in points) / len(points) for i in (0, 1))
        return geofence.convert(lat, lon, r["datum"], "wgs84")
    except (TypeError, ValueError, ZeroDivisionError, IndexError):
        return None


def decide(session: Session, actor: Actor, venue_id: int, decision: str, reason: str, now: datetime,
           settings: LocationSettings) -> VenueFenceDecision:
    """Approve or reject the venue's fence as it is now, once per version. An implausible fence
    cannot be approved (reject it with the reason instead)."""
    require(actor, Capability.APPROVE_VENUE_FENCES)
    venue = session.get(Venue, venue_id)
    if venue is None:
        raise ApiError(404, "venue_not_found", f"培训场地 {venue_id} 不存在或不在您的管辖范围内")
    visible_institution(session, actor, venue.institution_id)  # the venue's district is the supervisor's
    return _record(session, actor, venue, decision, reason, now, settings)


def seed_approval(session: Session, venue: Venue, reason: str, now: datetime, settings: LocationSettings,
                  decided_by_id: int | None = None) -> VenueFenceDecision:
    """Record an approval without a signed-in supervisor: the demo's seed and the tests' worlds.
    The fence must still be plausible (ValueError otherwise); audited as the system."""
    check = plausibility(venue, settings)
    if not check.plausible:
        raise ValueError("; ".join(f"{r.code}: {r.detail}" for r in check.reasons))
    return _record(session, Actor.system(), venue, "approve", reason, now, settings, decided_by_id=decided_by_id,
                   commit=False)


def _record(session: Session, actor: Actor, venue: Venue, decision: str, reason: str, now: datetime,
            settings: LocationSettings, *, decided_by_id: int | None = None, commit: bool = True) -> VenueFenceDecision:
    if decision not in DECISION_WORDS:
        raise ApiError(422, "invalid_input", "decision 必须是 approve 或 reject")
    earlier = _decision(session, venue)
    if earlier is not None:
        if earlier.fence_digest == venue.fence_digest:
            raise ApiError(409, "already_decided",
                           f"场地“{venue.name}”的当前围栏已审核（{DECISION_WORDS.get(earlier.decision, earlier.decision)}），"
                           "不能再次审核；围栏变更后会再次进入审核")
        venue.fence_version += 1  # the numbers changed without a new version: they are a new version
    check = plausibility(venue, settings)
    if decision == "approve" and not check.plausible:
        raise ApiError(422, "fence_implausible", "该场地围栏与场地不符，不能审核通过："
                       + "；".join(r.detail for r in check.reasons), reasons=[r.as_dict() for r in check.reasons],
                       measures=check.measures)
    row = VenueFenceDecision(venue_id=venue.id, fence_version=venue.fence_version, fence=venue.fence_record(),
                             fence_digest=venue.fence_digest, measures=check.measures, decision=decision, reason=reason,
                             decided_by_id=decided_by_id if decided_by_id is not None else actor.user_id, at=now)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # another supervisor decided the same version a moment earlier
        session.rollback()
        raise ApiError(409, "already_decided", f"场地“{venue.name}”的当前围栏已审核，不能再次审核") from None
    audit.record(session, actor, f"venue.fence_{decision}", "venue", venue.id,
                 {"fence_version": venue.fence_version, "status": "pending"},
                 {"decision": decision, "reason": reason, "decision_id": row.id, "fence": row.fence,
                  "fence_digest": row.fence_digest, "measures": check.measures},
                 institution_id=venue.institution_id)
    if commit:
        session.commit()
    return row


def venue_fence_json(v: Venue) -> dict[str, Any]:
    return {"id": v.id, "institution_id": v.institution_id, "name": v.name, "address": v.address,
            **v.fence_record(), "max_accuracy_m": v.max_accuracy_m, "fence_version": v.fence_version}
