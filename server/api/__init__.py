"""JSON API. Handlers parse, call one service, serialise; no queries here."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

# Routes register on import.
from server.api import accounts, checkin, classes, duties, exports, health, institutions, live, openapi, trainee_home, trainees  # noqa: E402,F401
from server.api import subsidy_history  # noqa: E402,F401
