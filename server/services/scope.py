"""Who is acting, and what they may see. Every query for classes, trainees and records goes
through these filters, so scoping is one piece of code, not a check repeated in each handler.
Out of scope means "not found" (404): we do not confirm that another district's class exists."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from server.errors import ApiError
from server.models import District, Enrollment, Institution, Role, TrainingClass, User

STAFF_WRITE = (Role.admin, Role.institution_admin)


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    role: Role
    institution_id: int | None = None
    district_id: int | None = None
    city_id: int | None = None
    trainee_id: int | None = None
    teacher_id: int | None = None
    ip: str | None = None

    @classmethod
    def of(cls, user: User, ip: str | None = None) -> Actor:
        return cls(user.id, user.username, user.role, user.institution_id, user.district_id, user.city_id,
                   user.trainee_id, user.teacher_id, ip)

    @classmethod
    def system(cls) -> Actor:
        return cls(None, "system", Role.admin)

    @property
    def sees_full_resident_ids(self) -> bool:
        # Those who need the full number: the admin, the enrolling institution (filing, import)
        # and the city reviewer who signs off subsidies. Supervisors and teachers see it masked.
        return self.role in (Role.admin, Role.institution_admin, Role.city_reviewer)


def classes_query(actor: Actor) -> Select:
    """The classes this actor may see."""
    q = select(TrainingClass)
    match actor.role:
        case Role.admin:
            return q
        case Role.institution_admin | Role.teacher:
            return q.where(TrainingClass.institution_id == actor.institution_id)
        case Role.district_supervisor:
            return q.where(TrainingClass.district_id == actor.district_id)
        case Role.city_reviewer:
            return q.where(TrainingClass.district_id.in_(select(District.id).where(District.city_id == actor.city_id)))
        case Role.trainee:
            return q.where(
                exists().where(Enrollment.class_id == TrainingClass.id, Enrollment.trainee_id == actor.trainee_id)
            )
    return q.where(False)  # pragma: no cover - every role is matched above


def institutions_query(actor: Actor) -> Select:
    q = select(Institution)
    match actor.role:
        case Role.admin:
            return q
        case Role.institution_admin | Role.teacher:
            return q.where(Institution.id == actor.institution_id)
        case Role.district_supervisor:
            return q.where(Institution.district_id == actor.district_id)
        case Role.city_reviewer:
            return q.where(Institution.district_id.in_(select(District.id).where(District.city_id == actor.city_id)))
    return q.where(False)


def visible_class(session: Session, actor: Actor, class_id: int) -> TrainingClass:
    cls = session.scalar(classes_query(actor).where(TrainingClass.id == class_id))
    if cls is None:
        raise ApiError(404, "class_not_found", f"培训班 {class_id} 不存在或不在您的管辖范围内")
    return cls


def writable_class(session: Session, actor: Actor, class_id: int) -> TrainingClass:
    cls = visible_class(session, actor, class_id)
    require_role(actor, STAFF_WRITE)
    return cls


def visible_institution(session: Session, actor: Actor, institution_id: int) -> Institution:
    inst = session.scalar(institutions_query(actor).where(Institution.id == institution_id))
    if inst is None:
        raise ApiError(404, "institution_not_found", f"培训机构 {institution_id} 不存在或不在您的管辖范围内")
    return inst


def require_role(actor: Actor, roles: tuple[Role, ...]) -> None:
    if actor.role not in roles:
        raise ApiError(403, "forbidden", "您的角色无权执行此操作")
