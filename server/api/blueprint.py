"""The API's one blueprint, in a module of its own so that route modules import it without
importing the package that imports them (no cycle)."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")
