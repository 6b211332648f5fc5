from contextlib import contextmanager

from flask import current_app

from server.api import auth
from server.api.blueprint import bp
from server.api.framework import endpoint
from server.api.schemas import ActivateIn, LoginIn, UserIn
from server.clock import utc_now
from server.errors import ApiError
from server.extensions import db
from server.models import User
from server.permissions import Capability
from server.services import accounts
from server.services.scope import Actor


def _limiter() -> accounts.AttemptLimiter:
    return current_app.extensions.setdefault("hourproof_login_limiter", accounts.AttemptLimiter())


@contextmanager
def _limited():
    """Throttle an address that keeps failing; a failed attempt counts, a success does not."""
    limiter, key = _limiter(), auth.client_ip() or "?"
    limiter.check(key)
    try:
        yield
    except ApiError as exc:
        if exc.status in (401, 423):
            limiter.failed(key)
        raise



def user_json(user: User) -> dict:
    return {"id": user.id, "username": user.username, "display_name": user.display_name, "role": user.role.value,
            "institution_id": user.institution_id, "district_id": user.district_id, "city_id": user.city_id,
            "trainee_id": user.trainee_id, "teacher_id": user.teacher_id, "device_bound": user.device_id is not None}


def _signed_in(user: User) -> dict:
    token = auth.start_session(user)
    return {"user": user_json(user), "csrf_token": token}


@endpoint(bp, "POST", "/auth/login", summary="Log in (trainees also send device_id)", tag="accounts", body=LoginIn, public=True)
def login(body: LoginIn):
    with _limited():
        user = accounts.authenticate(db.session, body.username, body.password, body.device_id, utc_now())
    return _signed_in(user)


@endpoint(bp, "POST", "/auth/activate", summary="Trainee first log-in: activation code sets the password and binds the phone",
          tag="accounts", body=ActivateIn, public=True)
def activate(body: ActivateIn):
    with _limited():
        user = accounts.activate(db.session, body.username, body.activation_code, body.new_password, body.device_id, utc_now())
    return _signed_in(user)


@endpoint(bp, "POST", "/auth/logout", summary="Log out", tag="accounts")
def logout(actor: Actor):
    auth.end_session()
    return {"ok": True}


@endpoint(bp, "GET", "/auth/me", summary="Who am I (and the CSRF token for this session)", tag="accounts")
def me(actor: Actor):
    from flask import session as cookie

    user = auth.current_user()
    if user is None:  # the session ended between the endpoint's check and here
        raise ApiError(401, "login_required", "请先登录")
    return {"user": user_json(user), "csrf_token": cookie.get("csrf")}


@endpoint(bp, "POST", "/users", summary="Create a staff account (admin)", tag="accounts", capability=Capability.MANAGE_ACCOUNTS,
          body=UserIn, status=201)
def create_user(actor: Actor, body: UserIn):
    scope = {k: getattr(body, k) for k in ("institution_id", "district_id", "city_id")}
    user, code = accounts.create_user(db.session, actor, username=body.username, role=body.role,
                                      display_name=body.display_name, password=body.password, **scope)
    db.session.commit()
    return {"user": user_json(user), "activation_code": code}


@endpoint(bp, "POST", "/users/<int:user_id>/unbind-device", summary="Unbind a trainee's phone (they changed phones)",
          tag="accounts", capability=Capability.UNBIND_PHONES)
def unbind_device(actor: Actor, user_id: int):
    user = accounts.user_for_unbind(db.session, actor, user_id)
    accounts.unbind_device(db.session, actor, user)
    db.session.commit()
    return {"user": user_json(user)}
