from contextlib import contextmanager

from flask import Response, current_app, request

from server.api import auth, responses
from server.api.blueprint import bp
from server.api.framework import endpoint
from server.api.schemas import AccountActionIn, ActivateIn, ActivationSlipsIn, LoginIn, ReissueCodesIn, UserIn
from server.clock import utc_now
from server.errors import ApiError
from server.exports.slips import activation_slips_pdf
from server.extensions import db
from server.models import User
from server.permissions import Capability
from server.services import account_recovery, accounts
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
    # A trainee is told once what the institution did to the account since the last log-in.
    notices = account_recovery.take_notices(db.session, user) if user.account_notice else []
    return {"user": user_json(user), "csrf_token": token, "notices": notices}


@endpoint(bp, "POST", "/auth/login", summary="Log in (trainees also send device_id)", tag="accounts", body=LoginIn, public=True,
          response=responses.SignedInOut)
def login(body: LoginIn):
    with _limited():
        user = accounts.authenticate(db.session, body.username, body.password, body.device_id, utc_now())
    return _signed_in(user)


@endpoint(bp, "POST", "/auth/activate", summary="Trainee first log-in: activation code sets the password and binds the phone",
          tag="accounts", body=ActivateIn, public=True, response=responses.SignedInOut)
def activate(body: ActivateIn):
    with _limited():
        user = accounts.activate(db.session, body.username, body.activation_code, body.new_password, body.device_id, utc_now())
    return _signed_in(user)


@endpoint(bp, "POST", "/auth/logout", summary="Log out", tag="accounts", response=responses.LogoutOut)
def logout(actor: Actor):
    # Every session of the user ends, not only this cookie: a copy of it saved before (another
    # tab, a stolen cookie) is refused from now on.
    accounts.log_out(db.session, actor)
    auth.end_session()
    return {"ok": True}


@endpoint(bp, "GET", "/auth/me", summary="Who am I (and the CSRF token for this session)", tag="accounts", response=responses.MeOut)
def me(actor: Actor):
    from flask import session as cookie

    user = auth.current_user()
    if user is None:  # the session ended between the endpoint's check and here
        raise ApiError(401, "login_required", "请先登录")
    return {"user": user_json(user), "csrf_token": cookie.get("csrf")}


@endpoint(bp, "POST", "/users", summary="Create a staff account (admin)", tag="accounts", capability=Capability.MANAGE_ACCOUNTS,
          body=UserIn, status=201, response=responses.CreateUserOut)
def create_user(actor: Actor, body: UserIn):
    scope = {k: getattr(body, k) for k in ("institution_id", "district_id", "city_id")}
    user, code = accounts.create_user(db.session, actor, username=body.username, role=body.role,
                                      display_name=body.display_name, password=body.password, **scope)
    db.session.commit()
    return {"user": user_json(user), "activation_code": code}


@endpoint(bp, "POST", "/users/<int:user_id>/unbind-device",
          summary="Unbind a trainee's phone (they changed phones): the next log-in binds the new one and tells them why",
          tag="accounts", capability=Capability.UNBIND_PHONES, body=AccountActionIn, response=responses.UnbindDeviceOut)
def unbind_device(actor: Actor, user_id: int, body: AccountActionIn):
    user = account_recovery.unbind_phone(db.session, actor, user_id, body.reason, utc_now())
    db.session.commit()
    return {"user": user_json(user)}


def _issued_json(i: account_recovery.Issued) -> dict:
    return {"trainee_id": i.trainee_id, "user_id": i.user_id, "name": i.name, "username": i.username,
            "activation_code": i.activation_code}


@endpoint(bp, "POST", "/users/<int:user_id>/reissue-activation-code",
          summary=("Re-issue a trainee's activation code (shown once): the password and any earlier code stop "
                   "working, the phone is unbound, and activating with the new code binds the phone used"),
          tag="accounts", capability=Capability.REISSUE_ACTIVATION_CODES, body=AccountActionIn, response=responses.ReissueActivationCodeOut)
def reissue_activation_code(actor: Actor, user_id: int, body: AccountActionIn):
    issued = account_recovery.reissue_code(db.session, actor, user_id, body.reason, utc_now())
    db.session.commit()
    return _issued_json(issued)


@endpoint(bp, "POST", "/classes/<int:class_id>/activation-codes",
          summary=("Re-issue activation codes (shown once) to a class's trainees who have not activated yet (all, "
                   "or those named); their earlier codes stop working"),
          tag="accounts", capability=Capability.REISSUE_ACTIVATION_CODES, body=ReissueCodesIn, response=responses.ReissueClassCodesOut)
def reissue_class_codes(actor: Actor, class_id: int, body: ReissueCodesIn):
    issued, skipped = account_recovery.reissue_for_class(db.session, actor, class_id, body.trainee_ids, body.reason,
                                                         utc_now())
    db.session.commit()
    return {"issued": [_issued_json(i) for i in issued], "skipped": skipped}


@endpoint(bp, "POST", "/classes/<int:class_id>/activation-slips",
          summary="Activation slips (PDF, four to an A4 page) for codes just imported or re-issued; each code is checked",
          tag="accounts", capability=Capability.REISSUE_ACTIVATION_CODES, body=ActivationSlipsIn,
          produces="application/pdf")
def activation_slips(actor: Actor, class_id: int, body: ActivationSlipsIn):
    cls, slips = account_recovery.slips(db.session, actor, class_id,
                                        [(s.trainee_id, s.activation_code) for s in body.slips])
    db.session.commit()
    base = current_app.config.get("PUBLIC_URL") or request.host_url.rstrip("/")
    pdf = activation_slips_pdf(slips, base + "/m/")
    # Codes are secrets: the PDF is not to be kept by a cache on the way.
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="activation-slips-class-{cls.id}.pdf"',
        "Cache-Control": "no-store"})
