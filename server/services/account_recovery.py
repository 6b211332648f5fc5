"""Account recovery for trainees: a new phone, a forgotten password, a lost activation code.

- Unbinding the phone (解除手机绑定): the trainee logs in with the same password on the next
  phone, which is then bound.
- Re-issuing the activation code (重新发放激活码): the old password and any earlier code stop
  working at once (and every session of the old password ends: the session cookie carries the
  password's marker); the phone bound is released, and the trainee's next activation with the
  new code sets a new password and binds the phone they use.
- Activation slips (激活单): the codes of a class printed to hand out. A code is never stored in
  plain text (only its argon2 hash), so a slip is printed from codes the caller holds (just
  imported or just re-issued), each checked against its hash.

Every action is audited with its reason, and the trainee is told at the next log-in what was
done to the account, by whom and why: a notice kept on the account until it is delivered once."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.adapters.passwords import hash_password, verify_password
from server.clock import local
from server.errors import ApiError
from server.models import Enrollment, Institution, Role, Trainee, TrainingClass, User
from server.models.people import mask_resident_id
from server.permissions import Capability
from server.services import audit
from server.services.accounts import end_all_sessions, new_activation_code, user_for_unbind
from server.services.names import pinyin_key
from server.services.scope import Actor, require, trainee_institution, writable_class

NOTICE_KINDS = {"device_unbound": "解除了您的账号与原手机的绑定", "code_reissued": "为您重新发放了激活码，原密码已失效"}


@dataclass(frozen=True)
class Issued:
    """A code just issued (shown once, and printable as a slip)."""

    trainee_id: int
    user_id: int
    name: str
    username: str
    activation_code: str


@dataclass(frozen=True)
class Slip:
    """One activation slip: what the trainee needs to log in for the first time."""

    name: str
    masked_resident_id: str
    login: str  # how to type the account, without printing a full ID or phone number
    class_name: str
    institution_name: str
    activation_code: str


def account_states(session: Session, trainee_ids: list[int]) -> dict[int, dict]:
    """Each trainee's account as the class page shows it: activated (a password set), phone bound."""
    if not trainee_ids:
        return {}
    users = session.scalars(select(User).where(User.trainee_id.in_(trainee_ids), User.role == Role.trainee))
    return {u.trainee_id: {"account": {"user_id": u.id, "activated": u.password_hash is not None,
                                       "device_bound": u.device_id is not None,
                                       "device_bound_at": u.device_bound_at.isoformat() if u.device_bound_at else None}}
            for u in users if u.trainee_id is not None}


def _by(session: Session, actor: Actor) -> str:
    if actor.role is Role.admin:
        return "系统管理员"
    inst = session.get(Institution, actor.institution_id) if actor.institution_id else None
    return f"培训机构（{inst.name}）" if inst is not None else "培训机构"


def _tell(session: Session, actor: Actor, user: User, kind: str, reason: str, now: datetime) -> None:
    notices = list(user.account_notice or [])
    notices.append({"kind": kind, "at": now.isoformat(), "by": _by(session, actor), "reason": reason})
    user.account_notice = notices  # a new list: the JSON column sees the change


def take_notices(session: Session, user: User) -> list[dict]:
    """What was done to the account since the trainee last logged in, each with a sentence to show;
    delivered once (cleared here, committed by the caller's log-in)."""
    notices = list(user.account_notice or [])
    if not notices:
        return []
    user.account_notice = None
    session.commit()
    out = []
    for n in notices:
        at = local(datetime.fromisoformat(n["at"])).strftime("%Y-%m-%d %H:%M")
        what = NOTICE_KINDS.get(n["kind"], "更改了您的账号")
        out.append({**n, "message": f"{n['by']}已于 {at} {what}。原因：{n['reason']}。本机现已绑定为您的签到手机。"})
    return out


def unbind_phone(session: Session, actor: Actor, user_id: int, reason: str, now: datetime) -> User:
    """The trainee changed phones: the next log-in (same password) binds the phone it comes from."""
    user = user_for_unbind(session, actor, user_id)
    if user.device_id is None:
        raise ApiError(409, "not_bound", f"{user.display_name} 的账号目前没有绑定手机，无需解除")
    before = {"device_bound_at": user.device_bound_at.isoformat() if user.device_bound_at else None}
    user.device_id = None
    user.device_bound_at = None
    end_all_sessions(user)  # the old phone is logged out now, not when the new one logs in
    _tell(session, actor, user, "device_unbound", reason, now)
    audit.record(session, actor, "device.unbind", "user", user.id, before, {"device_bound_at": None, "reason": reason},
                 institution_id=trainee_institution(session, user.trainee_id or 0, actor))
    return user


def _reissue(session: Session, actor: Actor, user: User, reason: str, now: datetime, institution_id: int | None) -> str:
    code = new_activation_code()
    was_in_use = user.password_hash is not None or user.device_id is not None
    before = {"activated": user.password_hash is not None,
              "device_bound_at": user.device_bound_at.isoformat() if user.device_bound_at else None}
    user.password_hash = None  # ends every session of the old password too (server/api/auth.py)
    end_all_sessions(user)
    user.activation_code_hash = hash_password(code)
    user.device_id = None
    user.device_bound_at = None
    user.failed_logins = 0
    user.locked_until = None
    if was_in_use:  # a trainee who never logged in has nothing to be told
        _tell(session, actor, user, "code_reissued", reason, now)
    audit.record(session, actor, "user.reissue_code", "user", user.id, before,
                 {"activated": False, "device_bound_at": None, "reason": reason}, institution_id=institution_id)
    return code


def reissue_code(session: Session, actor: Actor, user_id: int, reason: str, now: datetime) -> Issued:
    """A new activation code for one trainee (forgotten password, lost code, someone else's phone)."""
    require(actor, Capability.REISSUE_ACTIVATION_CODES)
    user = user_for_unbind(session, actor, user_id)
    trainee = session.get(Trainee, user.trainee_id)
    assert trainee is not None  # user_for_unbind found the trainee visible
    code = _reissue(session, actor, user, reason, now, trainee_institution(session, trainee.id, actor))
    return Issued(trainee.id, user.id, trainee.name, user.username, code)


def _class_accounts(session: Session, cls: TrainingClass) -> list[tuple[Trainee, User]]:
    rows = session.execute(select(Trainee, User).join(Enrollment, Enrollment.trainee_id == Trainee.id)
                           .join(User, User.trainee_id == Trainee.id)
                           .where(Enrollment.class_id == cls.id, User.role == Role.trainee))
    return sorted(((t, u) for t, u in rows), key=lambda tu: (pinyin_key(tu[0].name), tu[0].id))


def reissue_for_class(session: Session, actor: Actor, class_id: int, trainee_ids: Sequence[int] | None,
                      reason: str, now: datetime) -> tuple[list[Issued], list[dict]]:
    """New codes for the trainees of a class who have not activated yet (all of them, or those
    named), to print as slips; every earlier code of theirs stops working. A trainee who has
    activated is skipped (their password works: re-issue theirs one by one, with its own reason)."""
    cls = writable_class(session, actor, class_id, Capability.REISSUE_ACTIVATION_CODES)
    accounts = _class_accounts(session, cls)
    if trainee_ids is not None:
        wanted = set(trainee_ids)
        unknown = wanted - {t.id for t, _ in accounts}
        if unknown:
            raise ApiError(422, "invalid_input", "所选学员中有不在本班的学员，请刷新页面后重选",
                           fields=[{"field": "trainee_ids", "message": f"不在本班：{', '.join(map(str, sorted(unknown)))}"}])
        accounts = [(t, u) for t, u in accounts if t.id in wanted]
    issued, skipped = [], []
    for trainee, user in accounts:
        if user.password_hash is not None:
            skipped.append({"trainee_id": trainee.id, "name": trainee.name, "reason": "已激活（可单独重置密码）"})
            continue
        code = _reissue(session, actor, user, reason, now, cls.institution_id)
        issued.append(Issued(trainee.id, user.id, trainee.name, user.username, code))
    audit.record(session, actor, "class.reissue_codes", "class", cls.id, None,
                 {"reissued": len(issued), "skipped": len(skipped), "reason": reason}, institution_id=cls.institution_id)
    return issued, skipped


def _login_text(user: User, trainee: Trainee) -> str:
    if trainee.phone and user.username == trainee.phone:
        return f"本人手机号（{trainee.phone[:3]}****{trainee.phone[-4:]}）"
    if user.username == trainee.resident_id:
        return "本人身份证号（末位 X 请大写）"
    return user.username


def slips(session: Session, actor: Actor, class_id: int, codes: Sequence[tuple[int, str]]) -> tuple[TrainingClass, list[Slip]]:
    """The slips of (trainee id, activation code) pairs of this class, in the class list's order.
    Each code must be the trainee's current one (it is checked against its hash): a slip with a
    code that no longer works would send the trainee back to the institution."""
    cls = writable_class(session, actor, class_id, Capability.REISSUE_ACTIVATION_CODES)
    accounts = {t.id: (t, u) for t, u in _class_accounts(session, cls)}
    order = {tid: i for i, tid in enumerate(accounts)}
    inst = session.get(Institution, cls.institution_id)
    problems = []
    chosen: dict[int, Slip] = {}
    for i, (trainee_id, code) in enumerate(codes):
        if trainee_id not in accounts:
            problems.append({"field": f"slips.{i}.trainee_id", "message": "该学员不在本班"})
            continue
        trainee, user = accounts[trainee_id]
        if not verify_password(user.activation_code_hash, code):
            problems.append({"field": f"slips.{i}.activation_code",
                             "message": f"{trainee.name} 的激活码已失效（已激活或已重新发放），请重新发放后打印"})
            continue
        chosen[trainee_id] = Slip(trainee.name, mask_resident_id(trainee.resident_id), _login_text(user, trainee),
                                  cls.name, inst.name if inst else "", code)
    if problems:
        raise ApiError(422, "stale_activation_code", "有激活码已失效，未生成激活单", fields=problems)
    audit.record(session, actor, "class.print_slips", "class", cls.id, None, {"slips": len(chosen)},
                 institution_id=cls.institution_id)
    return cls, [chosen[tid] for tid in sorted(chosen, key=order.__getitem__)]
