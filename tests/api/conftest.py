"""Fixtures shared by the API tests of the online classroom (lesson media, quizzes)."""
from __future__ import annotations

import pytest

from server.models import Role, User
from tests.factories import PASSWORD, log_in


@pytest.fixture
def clip(faces_dir) -> bytes:
    return (faces_dir / "video" / "short_hamilton_clip.mp4").read_bytes()


@pytest.fixture
def admin(app, live, session):
    """The institution's administrator (the live world has teachers and a supervisor only)."""
    from server.adapters.passwords import hash_password
    from server.models import TrainingClass

    cls = session.get(TrainingClass, live["class_id"])
    session.add(User(username="inst-admin", display_name="机构管理员", role=Role.institution_admin,
                     institution_id=cls.institution_id, password_hash=hash_password(PASSWORD)))
    session.commit()
    return log_in(app, "inst-admin")
