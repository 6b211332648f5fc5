"""Who is acting, and what they may see. Every query for classes, trainees and records goes
through these filters, so scoping is one piece of code, not a check repeated in each handler.
Out of scope means "not found" (404): we do not confirm that another district's class exists."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, exists, false, select
from sqlalchemy.orm import Session

from server.errors import ApiError
from server.models import District, Enrollment, Institution, Lesson, Role, Trainee, TrainingClass, User
from server.permissions import Capability, allows


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
        return allows(self.role, Capability.SEE_FULL_RESIDENT_IDS)


def classes_query(actor: Actor) -> Select:
    """The classes this actor may see."""
    q = select(TrainingClass)
    match actor.role:
        case Role.admin:
            return q
        case Role.institution_admin:
            return q.where(TrainingClass.institution_id == actor.institution_id)
        case Role.teacher:
            # Least privilege: the classes they teach (a lesson of theirs), not every class of
            # the institution with its rolls and ledgers.
            return q.where(TrainingClass.institution_id == actor.institution_id,
                           exists().where(Lesson.class_id == TrainingClass.id, Lesson.teacher_id == actor.teacher_id))
        case Role.district_supervisor:
            return q.where(TrainingClass.district_id == actor.district_id)
        case Role.city_reviewer:
            return q.where(TrainingClass.district_id.in_(select(District.id).where(District.city_id == actor.city_id)))
        case Role.trainee:
            return q.where(
                exists().where(Enrollment.class_id == TrainingClass.id, Enrollment.trainee_id == actor.trainee_id)
            )
    return q.where(false())  # pragma: no cover - every role is matched above


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
    return q.where(false())


def visible_class(session: Session, actor: Actor, class_id: int) -> TrainingClass:
    cls = session.scalar(classes_query(actor).where(TrainingClass.id == class_id))
    if cls is None:
        raise ApiError(404, "class_not_found", f"培训班 {class_id} 不存在或不在您的管辖范围内")
    return cls


def visible_lesson(session: Session, actor: Actor, lesson_id: int) -> tuple[Lesson, TrainingClass]:
    """A lesson (not cancelled) of a class this actor may see, with its class; else 404 (a lesson
    outside one's scope is not told apart from one that does not exist)."""
    lesson = session.get(Lesson, lesson_id)
    cls = None
    if lesson is not None and lesson.cancelled_at is None:
        cls = session.scalar(classes_query(actor).where(TrainingClass.id == lesson.class_id))
    if lesson is None or cls is None:
        raise ApiError(404, "lesson_not_found", f"课次 {lesson_id} 不存在或不在您的管辖范围内")
    return lesson, cls


def writable_class(session: Session, actor: Actor, class_id: int,
                   capability: Capability = Capability.FILE_CLASSES) -> TrainingClass:
    """A class this actor may see (else 404) and change with `capability` (else 403)."""
    cls = visible_class(session, actor, class_id)
    require(actor, capability)
    return cls


def visible_institution(session: Session, actor: Actor, institution_id: int) -> Institution:
    inst = session.scalar(institutions_query(actor).where(Institution.id == institution_id))
    if inst is None:
        raise ApiError(404, "institution_not_found", f"培训机构 {institution_id} 不存在或不在您的管辖范围内")
    return inst


def visible_trainee(session: Session, actor: Actor, trainee_id: int) -> Trainee:
    """A trainee is visible to whoever may see one of their classes."""
    visible = session.scalar(
        select(Trainee).join(Enrollment, Enrollment.trainee_id == Trainee.id)
        .where(Trainee.id == trainee_id, Enrollment.class_id.in_(classes_query(actor).with_only_columns(TrainingClass.id)))
        .limit(1)
    )
    if visible is None:
        raise ApiError(404, "trainee_not_found", f"学员 {trainee_id} 不存在或不在您的管辖范围内")
    return visible


def trainee_institution(session: Session, trainee_id: int, actor: Actor) -> int | None:
    """The institution an action on this trainee is audited under: the actor's own, else the one of
    a class the trainee is enrolled in."""
    if actor.institution_id:
        return actor.institution_id
    return session.scalar(select(TrainingClass.institution_id).join(Enrollment, Enrollment.class_id == TrainingClass.id)
                          .where(Enrollment.trainee_id == trainee_id).limit(1))


def trainee_lesson(session: Session, actor: Actor, lesson_id: int) -> tuple[Lesson, TrainingClass, Enrollment]:
    """The trainee's own lesson, with its class and their enrollment: only a trainee enrolled in the
    lesson's class reaches it (404 otherwise, a cancelled lesson included)."""
    if not allows(actor.role, Capability.ATTEND_LESSONS):
        raise ApiError(403, "forbidden", "只有学员本人可以签到")
    # One query for the three rows (every challenge and check-in starts here).
    found = session.execute(
        select(Lesson, TrainingClass, Enrollment)
        .join(TrainingClass, TrainingClass.id == Lesson.class_id)
        .join(Enrollment, (Enrollment.class_id == Lesson.class_id) & (Enrollment.trainee_id == actor.trainee_id))
        .where(Lesson.id == lesson_id)).first()
    if found is None or found[0].cancelled_at is not None:
        raise ApiError(404, "lesson_not_found", f"课次 {lesson_id} 不存在，或您未报名该培训班")
    return found[0], found[1], found[2]


def require(actor: Actor, capability: Capability) -> None:
    """403 unless the actor's role holds `capability` (server/permissions.py)."""
    if not allows(actor.role, capability):
        raise ApiError(403, "forbidden", "您的角色无权执行此操作")
