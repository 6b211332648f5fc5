"""Log-in, lock-out, trainee activation with device binding, and account creation."""
from __future__ import annotations

import re
import secrets
import threading
import time
import unicodedata
from collections import deque
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.adapters.passwords import hash_password, verify_password
from server.clock import local
from server.errors import ApiError
from server.models import Role, User
from server.services import audit
from server.services.scope import Actor, visible_trainee

BAD_CREDENTIALS = "用户名或密码错误。第一次使用请点“用激活码激活账号”，用培训机构提供的激活码设置密码"
#: Consecutive failed passwords before an account is locked, and for how long.
MAX_FAILED_LOGINS = 5
LOCK_FOR = timedelta(minutes=15)

# A dummy hash to verify against when the user does not exist, so a wrong username costs the
# same time as a wrong password and does not reveal which accounts exist.
_DUMMY_HASH = hash_password("not-a-real-password-" + secrets.token_hex(8))


class AttemptLimiter:
    """Sliding-window limit of *failed* log-ins per client address, in this process.

    Only failures count: a whole class logs in at once from the venue's Wi-Fi (one public
    address), and successful log-ins must never lock them out. Per process is enough for one
    container; behind several, the per-account lock-out (stored in the database) still holds,
    which is what protects a given account."""

    def __init__(self, limit: int = 30, window_s: float = 600.0) -> None:
        self.limit, self.window_s = limit, window_s
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str, now: float | None = None) -> None:
        """Refuse (429) when this address has failed too often lately."""
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) >= self.limit:
                wait = int(hits[0] + self.window_s - now) + 1
                raise ApiError(429, "too_many_attempts", f"登录尝试过于频繁，请 {wait} 秒后再试", retry_after_s=wait)

    def failed(self, key: str, now: float | None = None) -> None:
        with self._lock:
            self._hits.setdefault(key, deque()).append(time.monotonic() if now is None else now)


#: What a username may be made of: a look-alike letter from another script (Cyrillic а), a
#: full-width form or an invisible character would make a second "admin" that reads like the first.
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{2,63}$")


LOOK_ALIKE = str.maketrans("01i", "oll")


def normal_username(text: str) -> str:
    """A username as stored and looked up: NFKC (full-width ａｄｍｉｎ is admin), no surrounding spaces."""
    return unicodedata.normalize("NFKC", text).strip()


def skeleton(username: str) -> str:
    """What a username looks like, for telling look-alikes apart: case, 0/O and 1/l/I ignored."""
    return username.lower().translate(LOOK_ALIKE)


def authenticate(session: Session, username: str, password: str, device_id: str | None, now: datetime) -> User:
    """The user, or ApiError 401/423 with a message that says what to do."""
    user = session.scalar(select(User).where(User.username == normal_username(username)))
    # One answer for an unknown name, a wrong password and an account not yet activated: none of
    # them tells whether the name exists (the first-log-in hint is there for everyone).
    if user is None or not user.active or user.password_hash is None:
        verify_password(_DUMMY_HASH, password)
        raise ApiError(401, "bad_credentials", BAD_CREDENTIALS)
    if user.locked_until is not None and user.locked_until > now:
        raise _locked(user)
    if not verify_password(user.password_hash, password):
        _failed(session, user, now)
        raise ApiError(401, "bad_credentials", BAD_CREDENTIALS)
    if user.role is Role.trainee:
        try:
            _bind_device(session, user, device_id, now)
        except ApiError as exc:
            # The right password from another phone counts as a failed attempt too: the answer
            # says the password was right, so it must not be free to ask again and again.
            if exc.code == "device_mismatch":
                _failed(session, user, now)
            raise
    user.failed_logins = 0
    user.locked_until = None
    session.commit()
    return user


def _locked(user: User) -> ApiError:
    until = local(user.locked_until).strftime("%H:%M") if user.locked_until else ""
    return ApiError(423, "account_locked", f"错误次数过多，账号已锁定至 {until}，请稍后再试或联系培训机构")


def _failed(session: Session, user: User, now: datetime) -> None:
    """One more failed attempt on this account; the fifth locks it (423) for LOCK_FOR."""
    user.failed_logins += 1
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.locked_until = now + LOCK_FOR
        user.failed_logins = 0
        session.commit()
        raise _locked(user)
    session.commit()


def _bind_device(session: Session, user: User, device_id: str | None, now: datetime) -> None:
    if not device_id:
        raise ApiError(422, "device_required", "学员登录需要设备标识，请使用签到页面登录",
                       fields=[{"field": "device_id", "message": "学员登录须带上本机的设备标识"}])
    if user.device_id is None:
        user.device_id = device_id
        user.device_bound_at = now
        audit.record(session, Actor.of(user), "device.bind", "user", user.id, None, {"device_bound_at": now.isoformat()})
    elif user.device_id != device_id:
        raise ApiError(403, "device_mismatch", "此账号已绑定另一台手机。如更换手机，请联系培训机构解除绑定")


def activate(session: Session, username: str, code: str, new_password: str, device_id: str, now: datetime) -> User:
    """A trainee's first log-in: the one-time code from the institution sets the password and binds this phone."""
    user = session.scalar(select(User).where(User.username == username, User.role == Role.trainee))
    wrong = ApiError(401, "bad_activation_code", "账号或激活码不正确，或激活码已使用，请向培训机构确认")
    if user is None or user.activation_code_hash is None:
        verify_password(_DUMMY_HASH, code)  # the same time as a wrong code
        raise wrong
    if user.locked_until is not None and user.locked_until > now:
        raise _locked(user)
    if not verify_password(user.activation_code_hash, code):
        _failed(session, user, now)  # 8 digits are guessable without a per-account limit
        raise wrong
    user.password_hash = hash_password(new_password)
    user.activation_code_hash = None
    user.device_id = None
    _bind_device(session, user, device_id, now)
    audit.record(session, Actor.of(user), "user.activate", "user", user.id, None, {"username": user.username})
    session.commit()
    return user


def new_activation_code() -> str:
    # 8 digits: typed on a phone keypad; single use and only valid until first log-in.
    return f"{secrets.randbelow(10**8):08d}"


def new_activation() -> tuple[str, str]:
    """A code and its hash: hashing costs ~0.15 s, so an import makes them before it writes."""
    code = new_activation_code()
    return code, hash_password(code)


def create_user(session: Session, actor: Actor, *, username: str, role: Role, display_name: str,
                password: str | None = None, activation: tuple[str, str] | None = None, **scope) -> tuple[User, str | None]:
    """A new account. Trainees without a password get an activation code (returned once);
    `activation` is one made beforehand (new_activation)."""
    username = normal_username(username)
    if not USERNAME.match(username):
        message = "用户名须为 3-64 位英文字母、数字或 _ . @ -，以字母或数字开头"
        raise ApiError(422, "invalid_username", message, fields=[{"field": "username", "message": message}])
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise ApiError(409, "username_taken", f"用户名 {username} 已存在")
    if not re.fullmatch(r"\d+X?", username):  # trainees' phone or ID numbers: distinct digits never look alike
        look = skeleton(username)
        twin = next((u for u in session.scalars(select(User.username).where(func.length(User.username) == len(username)))
                     if skeleton(u) == look), None)
        if twin is not None:
            message = f"用户名与已有的 {twin} 过于相似，容易混淆，请换一个"
            raise ApiError(409, "username_confusable", message, fields=[{"field": "username", "message": message}])
    code = None
    user = User(username=username, role=role, display_name=display_name, **scope)
    if password:
        user.password_hash = hash_password(password)
    elif role is Role.trainee:
        code, user.activation_code_hash = activation or new_activation()
    else:
        raise ApiError(422, "password_required", "非学员账号需要设置初始密码")
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id, None,
                 {"username": username, "role": role.value, **{k: v for k, v in scope.items() if v is not None}},
                 institution_id=scope.get("institution_id"))
    return user, code


def user_for_unbind(session: Session, actor: Actor, user_id: int) -> User:
    """A trainee account whose phone this actor may unbind (or whose activation code re-issue,
    services/account_recovery.py): the admin any, an institution admin only trainees enrolled in
    its classes."""
    user = session.get(User, user_id)
    # Out of the actor's scope reads the same as not there: no answer tells which ids exist.
    missing = ApiError(404, "user_not_found", f"学员账号 {user_id} 不存在或不在您的管辖范围内")
    if user is None or user.role is not Role.trainee or user.trainee_id is None:
        raise missing
    try:
        visible_trainee(session, actor, user.trainee_id)
    except ApiError:
        raise missing from None
    return user


def end_all_sessions(user: User) -> None:
    """Every session of `user` ends now, on every device (server/api/auth.py compares the
    generation a session began in); the caller commits."""
    user.session_generation = (user.session_generation or 0) + 1


def log_out(session: Session, actor: Actor) -> None:
    """Log-out ends every session of the user, not only this cookie: a copy of it saved before
    (another tab, a stolen cookie) is refused from now on."""
    user = session.get(User, actor.user_id)
    if user is not None:
        end_all_sessions(user)
        session.commit()
