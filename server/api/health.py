from flask import jsonify

from server.api.blueprint import bp
from server.extensions import db
from server.services import status


@bp.get("/health")
def health():
    """Liveness for load balancers: answers 200 only when the database answers too."""
    return jsonify(status.health(db.session))
