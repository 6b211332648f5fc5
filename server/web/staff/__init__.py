"""Pages for institution staff (zh-CN): log in, classes, venues, teachers, lessons, filing,
amendments, enrollment, import, consent, face photos, audit trail.

The pages are shells: every datum is fetched from the JSON API by small scripts in
server/web/staff/static/, so scoping and validation stay in one place (the API). A page handler
only checks that a staff user is signed in, and hands the page the catalog and region names that
fill its selects (read-only policy data, the same for everyone)."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from flask import Blueprint, current_app, redirect, render_template, request
from flask import session as cookie

from server.api import auth
from server.config import MapSettings
from server.models import Role
from server.permissions import Capability, allows, role_names

STATIC = Path(__file__).resolve().parent / "static"

bp = Blueprint("staff", __name__, static_folder=str(STATIC), static_url_path="/static/staff",
               template_folder="templates")

#: Who may use these pages (they write: venues, classes, enrollments) and who may watch the live
#: dashboard (each within their own scope, enforced by the API and rooms): server/permissions.py,
#: Capability.USE_MANAGE_PAGES and Capability.WATCH_LIVE.
ROLE_NAMES = {Role.admin: "系统管理员", Role.institution_admin: "机构管理员", Role.teacher: "教师",
              Role.district_supervisor: "区县人社监管", Role.city_reviewer: "市级复核", Role.trainee: "学员"}

#: Nothing on these pages comes from anywhere but this server (no CDN, no inline script), except
#: map tiles from the deployment's own tile server when it has one (MapSettings.origins: images only).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{tiles}; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def _map_settings() -> MapSettings:
    return current_app.config.get("MAP_SETTINGS") or MapSettings()


@bp.after_request
def _headers(resp):
    resp.headers.setdefault("Content-Security-Policy", CSP.format(tiles="".join(" " + o for o in _map_settings().origins)))
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    if resp.mimetype == "text/html":
        resp.headers["Cache-Control"] = "no-store"  # pages carry the session's CSRF token
    return resp


def _safe_next(value: str | None) -> str:
    """Only back to one of our own pages: never an open redirect (`//evil.example`, `https:`)."""
    if value and value.startswith(("/manage", "/live")) and not value.startswith("//") and "\\" not in value:
        return value
    return "/manage"


def _staff_or_redirect(capability: Capability = Capability.USE_MANAGE_PAGES):
    """The signed-in staff user, or a redirect to the log-in page that comes back here."""
    user = auth.current_user()
    if user is not None and allows(user.role, capability):
        return user, None
    args = {"next": request.full_path.rstrip("?")}
    if user is not None:
        args["denied"] = "1"  # signed in, but a role these pages are not for
    return None, redirect("/login?" + urlencode(args))


def _page(template: str, user, **context):
    return render_template(
        template, user=user, role_name=ROLE_NAMES.get(user.role, user.role.value),
        csrf_token=cookie.get("csrf", ""), manages=allows(user.role, Capability.USE_MANAGE_PAGES),
        sees_history=allows(user.role, Capability.VIEW_CLASS_HISTORY), **context,
    )


def _capabilities(user) -> dict[str, bool]:
    """Every capability the signed-in role holds, for the page scripts to show only the controls
    it may use (the API refuses the rest anyway: this only spares people a button that fails)."""
    return {c.value: allows(user.role, c) for c in Capability}


def _target_capability(path: str) -> Capability:
    """The capability a page of ours needs (the log-in page sends each user only where they may go)."""
    if path.startswith("/live"):
        return Capability.WATCH_LIVE
    if path.startswith("/manage/audit"):
        return Capability.USE_MANAGE_PAGES
    return Capability.VIEW_CLASS_HISTORY


@bp.get("/login")
def login_page():
    user = auth.current_user()
    target = _safe_next(request.args.get("next"))
    if user is not None and allows(user.role, Capability.USE_MANAGE_PAGES):
        return redirect(target)
    # 人社 asked for a class's history by its address go there; signing in without one, they
    # land on the live dashboard as before.
    if user is not None and request.args.get("next") and not request.args.get("denied") \
            and allows(user.role, _target_capability(target)):
        return redirect(target)
    if user is not None and allows(user.role, Capability.WATCH_LIVE) and (target.startswith("/live") or not request.args.get("denied")):
        return redirect(target if target.startswith("/live") else "/live")
    return render_template("staff/login.html", next_url=target, denied=bool(request.args.get("denied")),
                           explicit_next=bool(request.args.get("next")),
                           manage_roles=" ".join(role_names(Capability.USE_MANAGE_PAGES)),
                           history_roles=" ".join(role_names(Capability.VIEW_CLASS_HISTORY)))


@bp.get("/manage")
def manage():
    user, away = _staff_or_redirect(Capability.VIEW_CLASS_HISTORY)
    if away:
        return away
    from policies import loader
    from server.services import rules

    occupations = [
        {"code": o.code, "name": o.name, "hours": {"junior": o.junior, "mid": o.mid, "senior": o.senior}}
        for o in rules.catalog().occupations
    ]
    regions = [{"code": code, "name": rules.region(code).name} for code in loader.region_codes()]
    # The venue form's map picker (map.js) draws on the same tiles as /live; only for who adds venues.
    map_config = _map_settings().page_config() if allows(user.role, Capability.MANAGE_VENUES_AND_TEACHERS) else None
    return _page("staff/manage.html", user, occupations=occupations, regions=regions, can=_capabilities(user),
                 map_config=map_config)


@bp.get("/manage/classes/<int:class_id>")
def class_page(class_id: int):
    user, away = _staff_or_redirect(Capability.VIEW_CLASS_HISTORY)
    if away:
        return away
    from policies import loader
    from server.services import rules

    occupations = {o.code: o.name for o in rules.catalog().occupations}
    regions = {code: rules.region(code).name for code in loader.region_codes()}  # for the subsidy history form
    return _page("staff/class.html", user, class_id=class_id, occupations=occupations, regions=regions,
                 can=_capabilities(user))


@bp.get("/manage/audit")
def audit_page():
    user, away = _staff_or_redirect()
    if away:
        return away
    return _page("staff/audit.html", user)


@bp.get("/live")
def live_page():
    """The live dashboard: classes in session, counts and alerts pushed over Socket.IO, a lesson's
    roll with its evidence, spot checks and the review queue. Also the teacher's view on a phone."""
    user, away = _staff_or_redirect(Capability.WATCH_LIVE)
    if away:
        return away
    return _page("staff/live.html", user, reviews=allows(user.role, Capability.REVIEW_EVENTS),
                 face_holds=allows(user.role, Capability.REVIEW_FACE_HOLDS),
                 sees_duties=allows(user.role, Capability.VIEW_DUTIES),
                 takes_group_photos=allows(user.role, Capability.UPLOAD_GROUP_PHOTOS),
                 can_spot_check=allows(user.role, Capability.TRIGGER_SPOT_CHECKS),
                 shows_room_codes=allows(user.role, Capability.SHOW_ROOM_CODES),
                 attests_presence=allows(user.role, Capability.ATTEST_PRESENCE),
                 approves_fences=allows(user.role, Capability.APPROVE_VENUE_FENCES),
                 map_config=_map_settings().page_config())
