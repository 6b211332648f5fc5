"""Server-rendered pages (zh-CN). The phone app and dashboard live in checkin_web/."""
from flask import Blueprint, render_template

from .extensions import db
from .services import status

bp = Blueprint("web", __name__)


@bp.get("/")
def index():
    return render_template("index.html", overview=status.overview(db.session))
