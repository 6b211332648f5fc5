"""Log-in, lock-out, trainee activation with device binding, and account creation."""
from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.adapters.passwords import hash_password, verify_password
from server.clock import local
from server.errors import ApiError
from server.models import Role, User
from server.services import audit
from server.services.scope import Actor, visible_trainee

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


def authenticate(session: Session, username: str, password: str, device_id: str | None, now: datetime) -> User:
    """The user, or ApiError 401/423/409 with a message that says what to do."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        verify_password(_DUMMY_HASH, password)
        raise ApiError(401, "bad_credentials", "用户名或密码错误")
    if user.locked_until is not None and user.locked_until > now:
        until = local(user.locked_until).strftime("%H:%M")
        raise ApiError(423, "account_locked", f"密码错误次数过多，账号已锁定至 {until}，请稍后再试或联系管理员")
    if user.password_hash is None:
        raise ApiError(409, "activation_required", "首次登录请使用培训机构提供的激活码设置密码")
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCK_FOR
            user.failed_logins = 0
            session.commit()
            until = local(user.locked_until).strftime("%H:%M")
            raise ApiError(423, "account_locked", f"密码错误次数过多，账号已锁定至 {until}，请稍后再试或联系管理员")
        session.commit()
        left = MAX_FAILED_LOGINS - user.failed_logins
        raise ApiError(401, "bad_credentials", f"用户名或密码错误（再错 {left} 次将锁定 15 分钟）")
    if user.role is Role.trainee:
        _bind_device(session, user, device_id, now)
    user.failed_logins = 0
    user.locked_until = None
    session.commit()
    return user


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
    if user is None or user.activation_code_hash is None or not verify_password(user.activation_code_hash, code):
        raise ApiError(401, "bad_activation_code", "激活码不正确或已使用，请向培训机构确认")
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


def create_user(session: Session, actor: Actor, *, username: str, role: Role, display_name: str,
                password: str | None = None, **scope) -> tuple[User, str | None]:
    """A new account. Trainees without a password get an activation code (returned once)."""
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise ApiError(409, "username_taken", f"用户名 {username} 已存在")
    code = None
    user = User(username=username, role=role, display_name=display_name, **scope)
    if password:
        user.password_hash = hash_password(password)
    elif role is Role.trainee:
        code = new_activation_code()
        user.activation_code_hash = hash_password(code)
    else:
        raise ApiError(422, "password_required", "非学员账号需要设置初始密码")
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id, None,
                 {"username": username, "role": role.value, **{k: v for k, v in scope.items() if v is not None}},
                 institution_id=scope.get("institution_id"))
    return user, code


def unbind_device(session: Session, actor: Actor, user: User) -> None:
    before = {"device_bound_at": user.device_bound_at.isoformat() if user.device_bound_at else None}
    user.device_id = None
    user.device_bound_at = None
    audit.record(session, actor, "device.unbind", "user", user.id, before, {"device_bound_at": None})


def user_for_unbind(session: Session, actor: Actor, user_id: int) -> User:
    """A trainee account whose phone this actor may unbind: the admin any, an institution admin
    only trainees enrolled in its classes."""
    user = session.get(User, user_id)
    if user is None or user.role is not Role.trainee or user.trainee_id is None:
        raise ApiError(404, "user_not_found", f"学员账号 {user_id} 不存在")
    visible_trainee(session, actor, user.trainee_id)
    return user
