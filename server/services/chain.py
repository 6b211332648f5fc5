"""The hash chain over events: append under the chain head's lock, and verify.

An event's hash covers its content and the previous event's hash, so a change to any stored
field of any event - or a deleted or inserted row - shows at that link. The content is hashed
as canonical JSON (sorted keys, no spaces, UTF-8) of the stored values, read back the same way
on SQLite and PostgreSQL."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from server.models import ChainHead, Event

GENESIS = "0" * 64
HASHED_FIELDS = (
    "chain", "seq", "kind", "class_id", "lesson_id", "enrollment_id", "trainee_id", "actor_id", "at", "verdict",
    "decides_event_id", "spot_check_id", "reasons", "evidence", "idempotency_key", "device_id", "prev_hash",
)


def _value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return v


def content_hash(fields: dict[str, Any]) -> str:
    body = {k: _value(fields[k]) for k in HASHED_FIELDS}
    data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def chain_of(class_id: int) -> str:
    return f"class:{class_id}"


def _lock_head(session: Session, chain: str) -> ChainHead:
    head = session.scalar(select(ChainHead).where(ChainHead.chain == chain).with_for_update())
    if head is None:
        dialect = session.get_bind().dialect.name
        stmt = insert(ChainHead).values(chain=chain, seq=0, hash=GENESIS)
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt = pg_insert(ChainHead).values(chain=chain, seq=0, hash=GENESIS).on_conflict_do_nothing()
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(ChainHead).values(chain=chain, seq=0, hash=GENESIS).on_conflict_do_nothing()
        session.execute(stmt)
        head = session.scalars(select(ChainHead).where(ChainHead.chain == chain).with_for_update()).one()
    return head


@dataclass(frozen=True, kw_only=True)
class NewEvent:
    """What the author of an event says: every hashed field but the three the chain adds (chain,
    seq, prev_hash). A dataclass and not keyword arguments, so that a misspelt field is an error
    where it is written instead of a NULL in a hash-chained row that can never be corrected."""

    kind: str
    class_id: int
    at: datetime
    verdict: str
    lesson_id: int | None = None
    enrollment_id: int | None = None
    trainee_id: int | None = None
    actor_id: int | None = None
    decides_event_id: int | None = None
    spot_check_id: int | None = None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None
    device_id: str | None = None


def append(session: Session, new: NewEvent) -> Event:
    """Add an event at the end of its class's chain (the caller commits)."""
    chain = chain_of(new.class_id)
    head = _lock_head(session, chain)
    fields: dict[str, Any] = {f.name: getattr(new, f.name) for f in dataclass_fields(new)}
    fields.update(chain=chain, seq=head.seq + 1, prev_hash=head.hash)
    # Normalise JSON through a round trip so the hash covers exactly what will be read back.
    fields["reasons"] = json.loads(json.dumps(fields["reasons"] or [], ensure_ascii=False, allow_nan=False))
    fields["evidence"] = json.loads(json.dumps(fields["evidence"] or {}, ensure_ascii=False, allow_nan=False))
    digest = content_hash(fields)
    event = Event(**fields, hash=digest)
    session.add(event)
    head.seq, head.hash = fields["seq"], digest
    session.flush()
    return event


@dataclass(frozen=True)
class ChainProblem:
    chain: str
    seq: int | None
    event_id: int | None
    problem: str


def verify(session: Session, chain: str | None = None) -> tuple[int, list[ChainProblem]]:
    """Recompute every chain (or one); return the number of events checked and, per broken
    chain, its first broken link."""
    q = select(Event).order_by(Event.chain, Event.seq)
    if chain:
        q = q.where(Event.chain == chain)
    problems: list[ChainProblem] = []
    checked = 0
    current, prev, expected_seq, broken = None, GENESIS, 1, False
    heads = {h.chain: h for h in session.scalars(select(ChainHead))}
    last_seen: dict[str, Event] = {}
    for event in session.execute(q).scalars():
        checked += 1
        if event.chain != current:
            current, prev, expected_seq, broken = event.chain, GENESIS, 1, False
        last_seen[event.chain] = event
        if broken:
            continue
        fields = {k: getattr(event, k) for k in HASHED_FIELDS}
        problem = None
        if event.seq != expected_seq:
            problem = f"sequence jumps from {expected_seq - 1} to {event.seq}: an event is missing"
        elif event.prev_hash != prev:
            problem = "prev_hash does not match the previous event's hash"
        elif content_hash(fields) != event.hash:
            problem = "content does not match its hash: the row was edited"
        if problem:
            problems.append(ChainProblem(event.chain, event.seq, event.id, problem))
            broken = True
            continue
        prev, expected_seq = event.hash, expected_seq + 1
    for name, head in heads.items():
        if chain and name != chain:
            continue
        last = last_seen.get(name)
        if any(p.chain == name for p in problems):
            continue
        if last is None and head.seq != 0:
            problems.append(ChainProblem(name, None, None, f"head says {head.seq} events, none are stored"))
        elif last is not None and (last.seq != head.seq or last.hash != head.hash):
            problems.append(ChainProblem(name, last.seq, last.id,
                                         f"head is at {head.seq}, the last stored event is {last.seq}: events were removed"))
    return checked, problems


def head_of(session: Session, class_id: int) -> tuple[int, str]:
    head = session.get(ChainHead, chain_of(class_id))
    return (head.seq, head.hash) if head else (0, GENESIS)


@dataclass(frozen=True)
class PhotoProblem:
    chain: str | None
    event_id: int | None
    group_photo_id: int | None
    digest: str
    problem: str


@dataclass
class PhotoCheck:
    #: Files re-hashed
    checked: int = 0
    #: Gone by the keeping period (retention.evidence_past_keeping)
    purged: int = 0
    #: Gone when their review window closed without consent to keep them (recorded, POLICY §11)
    expired: int = 0
    problems: list[PhotoProblem] = field(default_factory=list)


def verify_photos(session: Session, store, now: datetime, chain: str | None = None) -> tuple[int, int, list[PhotoProblem]]:
    """(files checked, files purged or expired by a retention rule, problems): check_photos, briefly."""
    found = check_photos(session, store, now, chain)
    return found.checked, found.purged + found.expired, found.problems


def check_photos(session: Session, store, now: datetime, chain: str | None = None) -> PhotoCheck:
    """Re-hash every photo file the evidence names: the frames of each event (their hashes are in
    the chain, so a verified chain plus matching files means the pictures are the ones judged)
    and the lessons' group photos. A file that is gone is a problem unless its keeping period has
    passed (retention.evidence_past_keeping: the purge is allowed then, and recorded) or its event's
    review window closed without consent to keep it (retention.expired_event_ids: recorded in the
    audit log before the deletion). Reads every file: opt-in (`hourproof audit verify --photos`),
    streamed in batches so memory stays flat."""
    from server.models import GroupPhoto
    from server.services.retention import evidence_past_keeping, expired_event_ids, frames_of

    found = PhotoCheck()
    expired = expired_event_ids(session, int(chain.split(":", 1)[1]) if chain else None)

    def check(digest: str, gone_by_rule, **where) -> None:
        try:
            store.get(digest)
        except FileNotFoundError:
            if where["event_id"] in expired:
                found.expired += 1
            elif gone_by_rule():
                found.purged += 1
            else:
                found.problems.append(PhotoProblem(digest=digest, problem="file missing (its keeping period has not passed)",
                                                   **where))
            return
        except ValueError:
            found.problems.append(PhotoProblem(digest=digest, problem="file does not match its hash: the photo was altered",
                                               **where))
        found.checked += 1

    q = select(Event.id, Event.chain, Event.evidence, Event.class_id, Event.at).order_by(Event.chain, Event.seq)
    if chain:
        q = q.where(Event.chain == chain)
    for event_id, event_chain, evidence, class_id, at in session.execute(q.execution_options(yield_per=500)):
        for digest in frames_of(evidence):
            check(digest, lambda class_id=class_id, at=at: evidence_past_keeping(session, class_id, at, now),
                  chain=event_chain, event_id=event_id, group_photo_id=None)
    photos = select(GroupPhoto.id, GroupPhoto.sha256, GroupPhoto.class_id, GroupPhoto.uploaded_at).order_by(GroupPhoto.id)
    if chain:
        photos = photos.where(GroupPhoto.class_id == int(chain.split(":", 1)[1]))
    for photo_id, digest, class_id, uploaded_at in session.execute(photos).all():
        check(digest, lambda class_id=class_id, at=uploaded_at: evidence_past_keeping(session, class_id, at, now),
              chain=f"class:{class_id}", event_id=None, group_photo_id=photo_id)
    return found
