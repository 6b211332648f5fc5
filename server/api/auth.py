"""Sessions, CSRF and the current actor.

Cookie sessions (Flask's signed cookie) suit both the phone page and the desktop dashboard. Every
state-changing request must carry the session's CSRF token in the X-CSRF-Token header (or a
`csrf_token` form field): a cross-site page can send our cookie but cannot read the token."""
from __future__ import annotations

import hmac
import secrets
import time
from datetime import timedelta

from flask import g, request
from flask import session as cookie
from sqlalchemy import bindparam, select

from server.errors import ApiError
from server.extensions import db
from server.models import Role, User
from server.permissions import Capability, allows
from server.services.scope import Actor

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Endpoints reachable before a session exists (they establish one).
CSRF_EXEMPT = frozenset({"api.login", "api.activate", "web.login_page"})
STAFF_SESSION = timedelta(hours=12)
TRAINEE_SESSION = timedelta(days=30)


def start_session(user: User) -> str:
    cookie.clear()
    cookie.permanent = True
    cookie["uid"] = user.id
    # A password change ends every other session: the cookie must match the current hash.
    cookie["pw"] = _password_marker(user)
    cookie["gen"] = user.session_generation or 0
    cookie["csrf"] = secrets.token_urlsafe(32)
    # Each role's own lifetime, carried in the signed cookie (the app-wide lifetime is the longest).
    cookie["exp"] = int(time.time() + session_lifetime(user).total_seconds())
    return cookie["csrf"]


def end_session() -> None:
    cookie.clear()


def _password_marker(user: User) -> str:
    return (user.password_hash or "")[-16:]


def current_user() -> User | None:
    if "hp_user" in g:
        return g.hp_user
    user = None
    uid = cookie.get("uid")
    if type(uid) is int and fresh(cookie):
        candidate = db.session.get(User, uid)
        if candidate is not None and session_matches(cookie, candidate.active, candidate.password_hash,
                                                     candidate.session_generation):
            user = candidate
    g.hp_user = user
    return user


def client_ip() -> str | None:
    return request.remote_addr


_u = User.__table__.c
#: built once: composing a statement costs more than running this one
_ACTOR_ROW = select(_u.id, _u.username, _u.role, _u.institution_id, _u.district_id, _u.city_id, _u.trainee_id,
                    _u.teacher_id, _u.active, _u.password_hash, _u.session_generation).where(_u.id == bindparam("uid"))


def signed_in_actor() -> Actor | None:
    """The session's user as an Actor, read with one narrow query (no ORM identity map, no
    row object): this runs on every API request, heartbeats every 30 s from every phone
    included, so it is kept to what the checks need."""
    uid = cookie.get("uid")
    if type(uid) is not int or not fresh(cookie):
        return None
    # Its own one-statement read (autocommit), not the request's session: a writing request's
    # session begins with SQLite's write lock, which a log-in check has no need to take.
    with db.read_engine.connect() as conn:
        row = conn.execute(_ACTOR_ROW, {"uid": uid}).first()
    if row is None or not session_matches(cookie, row.active, row.password_hash, row.session_generation):
        return None
    return Actor(row.id, row.username, Role(row.role), row.institution_id, row.district_id, row.city_id,
                 row.trainee_id, row.teacher_id, client_ip())


def fresh(session) -> bool:
    """The session's own expiry is a number still ahead. Fields of unexpected types (a cookie
    signed with our secret but written by something else) end the session, never a 500."""
    exp = session.get("exp")
    return type(exp) in (int, float) and exp > time.time()


def session_matches(session, active: bool, password_hash: str | None, generation: int | None) -> bool:
    """A signed session still stands for its user: the user is active, the password has not
    changed since log-in (a password change ends every other session) and no session-ending
    event came since (end_all_sessions). Also used by the heartbeat fast path
    (server/api/heartbeat_fastpath.py), so the rule is in one place."""
    return (bool(active) and session.get("pw") == (password_hash or "")[-16:]
            and session.get("gen", 0) == (generation or 0))


def require_actor(capability: Capability | None) -> Actor:
    """The signed-in actor (else 401), holding `capability` unless it is None (else 403)."""
    actor = signed_in_actor()
    if actor is None:
        raise ApiError(401, "login_required", "请先登录")
    if capability is not None and not allows(actor.role, capability):
        raise ApiError(403, "forbidden", "您的角色无权执行此操作")
    return actor


def check_csrf() -> None:
    """before_request: refuse a state-changing request without the session's token."""
    if request.method in SAFE_METHODS or request.endpoint in CSRF_EXEMPT:
        return
    if "uid" not in cookie:
        return  # no session, nothing to ride on; the endpoint itself answers 401
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
    expected = cookie.get("csrf", "")
    if not isinstance(expected, str) or not expected or not hmac.compare_digest(sent, expected):
        raise ApiError(403, "csrf_failed", "页面已过期或请求来源不明，请刷新页面后重试")


def session_lifetime(user: User) -> timedelta:
    return TRAINEE_SESSION if user.role is Role.trainee else STAFF_SESSION
