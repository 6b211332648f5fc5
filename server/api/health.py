from flask import jsonify

from ..extensions import db
from ..services import status
from . import bp


@bp.get("/health")
def health():
    """Liveness for load balancers: answers 200 only when the database answers too."""
    return jsonify(status.health(db.session))
