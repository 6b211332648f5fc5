"""A teacher sees the classes they teach, not every class of their institution (issue 22)."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from server.models import Lesson, LessonContent, LessonMode, Level, TrainingClass


def test_a_teacher_sees_only_the_classes_they_teach(worlds, login, session):
    y = worlds["yubei"]
    other = TrainingClass(institution_id=y.institution_id, region_code="cq", district_id=y.district_id, name="别人的班",
                          occupation_code="2-02-38-04", level=Level.mid, starts_on=date(2026, 3, 1), ends_on=date(2026, 6, 30))
    session.add(other)
    session.flush()
    t0 = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
    session.add(Lesson(class_id=other.id, starts_at=t0, ends_at=t0 + timedelta(hours=2), mode=LessonMode.online,
                       content=LessonContent.theory))  # nobody's lesson: not this teacher's
    session.commit()
    teacher = login("yubei-teacher")
    listed = {c["id"] for c in teacher.get("/api/classes").get_json()}
    assert y.class_id in listed and other.id not in listed
    assert teacher.get(f"/api/classes/{other.id}").status_code == 404
    assert teacher.get(f"/api/classes/{other.id}/enrollments").status_code == 404
    # The institution's admin still sees both.
    listed = {c["id"] for c in login("yubei-admin").get("/api/classes").get_json()}
    assert {y.class_id, other.id} <= listed
