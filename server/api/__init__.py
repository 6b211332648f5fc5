"""JSON API. Handlers parse, call one service, serialise; no queries here."""
# Routes register on import.
from server.api import (  # noqa: F401
    accounts,
    checkin,
    classes,
    dashboard,
    data_rights,
    duties,
    exports,
    face_holds,
    health,
    institutions,
    media,
    openapi,
    privacy,
    quizzes,
    subsidy_history,
    trainee_home,
    trainees,
)
from server.api.blueprint import bp

__all__ = ["bp"]
