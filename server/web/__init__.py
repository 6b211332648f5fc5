"""Server-rendered pages (zh-CN). Pages and their templates and static files live side by side in server/web/."""
from pathlib import Path

from flask import Blueprint, render_template

from policies import clauses
from server.extensions import db
from server.services import status

#: Third-party browser code we ship ourselves (pages load nothing from other origins):
#: socket.io-client 4.8.4 (MIT, from the npm registry; its LICENSE sits beside it); Leaflet 1.9.4
#: (BSD-2-Clause, `npm pack leaflet@1.9.4`: dist/leaflet.js without its source-map comment and
#: dist/leaflet.css; the marker images are left out, the maps draw circle markers only); swagger-ui-dist
#: 5.36.0 (Apache-2.0, `npm pack swagger-ui-dist@5.36.0`: swagger-ui-bundle.js and swagger-ui.css, for
#: the API page /api/docs; swagger-ui.LICENSE holds its LICENSE, NOTICE and bundled licences).
VENDOR = Path(__file__).resolve().parent / "vendor"

bp = Blueprint("web", __name__, static_folder=str(VENDOR), static_url_path="/vendor", template_folder="templates")


@bp.app_context_processor
def _clause_words() -> dict:
    """Every page may show clauses from the API; its script names a digest section in words
    ("POLICY §3" -> "线上学时计入不超过规定学时的50%（政策摘要第3条）"), from this one table."""
    return {"clause_words": clauses.page_labels()}


@bp.get("/")
def index():
    return render_template("index.html", overview=status.overview(db.session))
