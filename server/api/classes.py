from server.api import responses
from server.api.blueprint import bp
from server.api.framework import endpoint
from server.api.schemas import AmendmentIn, ClassIn, LessonsIn
from server.clock import utc_now
from server.extensions import db
from server.permissions import Capability
from server.services import classes as svc
from server.services.scope import Actor


@endpoint(bp, "POST", "/classes", summary="Create a training class (draft), optionally with its lessons", tag="classes",
          capability=Capability.FILE_CLASSES, body=ClassIn, status=201, response=responses.CreateClassOut)
def create_class(actor: Actor, body: ClassIn):
    cls, warnings = svc.create_class(db.session, actor, body, utc_now())
    return {**svc.class_json(cls), "warnings": warnings}


@endpoint(bp, "GET", "/classes", summary="Training classes in my scope, each with its state now (timing, in session, sealed)",
          tag="classes", response=list[responses.ListClassesOut])
def list_classes(actor: Actor):
    return svc.list_classes_with_state(db.session, actor, utc_now())


@endpoint(bp, "GET", "/classes/<int:class_id>", summary="A class with its lessons and plan amendments", tag="classes",
          response=responses.GetClassOut)
def get_class(actor: Actor, class_id: int):
    cls, lessons = svc.class_with_lessons(db.session, actor, class_id)
    return {**svc.class_json(cls), "lessons": svc.lessons_with_media_json(db.session, lessons),
            "amendments": svc.amendments_json(db.session, cls.id)}


@endpoint(bp, "POST", "/classes/<int:class_id>/lessons",
          summary="Add lessons to a draft plan: the lessons stored, and warnings (outside the class dates, on a holiday)",
          tag="classes", capability=Capability.FILE_CLASSES, body=LessonsIn, status=201, response=responses.AddLessonsOut)
def add_lessons(actor: Actor, class_id: int, body: LessonsIn):
    added, warnings = svc.add_lessons(db.session, actor, class_id, body.lessons)
    return {"lessons": [svc.lesson_json(x) for x in added], "warnings": warnings}


@endpoint(bp, "DELETE", "/classes/<int:class_id>/lessons/<int:lesson_id>",
          summary="Remove a lesson from a draft plan (a filed plan changes by amendment)",
          tag="classes", capability=Capability.FILE_CLASSES, response=responses.RemoveLessonOut)
def remove_lesson(actor: Actor, class_id: int, lesson_id: int):
    svc.remove_draft_lesson(db.session, actor, class_id, lesson_id)
    return {"removed": lesson_id}


@endpoint(bp, "GET", "/classes/<int:class_id>/plan-check", summary="The rules' verdict on the plan, without filing",
          tag="classes", response=responses.PlanCheckOut)
def plan_check(actor: Actor, class_id: int):
    return svc.check_plan(db.session, actor, class_id)


@endpoint(bp, "POST", "/classes/<int:class_id>/file", summary="File the plan (refused with every violation and clause)",
          tag="classes", capability=Capability.FILE_CLASSES, response=responses.FileClassOut)
def file_class(actor: Actor, class_id: int):
    cls, check = svc.file_class(db.session, actor, class_id, utc_now())
    return {**svc.class_json(cls), "check": check}


@endpoint(bp, "POST", "/classes/<int:class_id>/amendments", summary="Amend a filed plan (re-checked, recorded)",
          tag="classes", capability=Capability.FILE_CLASSES, body=AmendmentIn, status=201, response=responses.AmendClassOut)
def amend_class(actor: Actor, class_id: int, body: AmendmentIn):
    a, warnings = svc.amend_class(db.session, actor, class_id, body, utc_now())
    return {"id": a.id, "class_id": a.class_id, "at": a.at.isoformat(), "reason": a.reason, "change": a.change, "check": a.check,
            "warnings": warnings}
