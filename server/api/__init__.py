"""JSON API. Handlers parse, call one service, serialise; no queries here."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from . import health  # noqa: E402,F401  (routes register on import)
