"""What the service is running on, for /api/health and the landing page."""
from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from server.database.migrate import current
from server.models import Enrollment, Institution, Lesson, TrainingClass


def health(session: Session) -> dict:
    session.execute(text("SELECT 1"))
    return {"status": "ok", "database": session.get_bind().dialect.name, "schema": current(session.connection())}


def overview(session: Session) -> dict:
    """Counts only: the landing page is public and shows no personal data."""
    count = lambda model: session.scalar(select(func.count()).select_from(model))  # noqa: E731
    return {
        "institutions": count(Institution),
        "classes": count(TrainingClass),
        "lessons": count(Lesson),
        "enrollments": count(Enrollment),
    }
