"""Daily anchors of the event chains' heads, outside the database.

The hash chain (services/chain.py) shows an edited row - unless whoever edits recomputes every
later hash and the head, which anyone with write access to the database can do. An anchor is a
copy of each chain's head (seq and hash) taken once a day and written where a database edit
does not reach: an append-only file in the data directory, plus the scheduler's log (which a
deployment ships elsewhere). `hourproof audit verify` then checks that every anchored head is
still the event at that position; a rewritten chain no longer matches its anchor.

The file is JSON lines, one per chain and day:
  {"date": "2026-11-24", "chain": "class:3", "seq": 17, "count": 17, "head": "<sha256>",
   "at": "<UTC time>", "prev": "<sha256 of the previous line>"}
Each line names the hash of the line before it (the first: 64 zeros), so deleting or editing
a line inside the file breaks the link at the next line. A chain is anchored again only when
its head moved since its last anchor."""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.clock import local_date
from server.models import ChainHead, Event
from server.services.chain import GENESIS

log = logging.getLogger("hourproof.anchors")
FILE_NAME = "chain-anchors.jsonl"


def anchor_path(data_dir: Path) -> Path:
    return Path(data_dir) / "anchors" / FILE_NAME


def line_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line]


def anchor_heads(session: Session, path: Path, now: datetime) -> list[dict]:
    """Append today's anchor of every chain whose head moved since its last anchor. Idempotent
    within a day. Returns the records written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    day = local_date(now).isoformat()
    written = []
    # O_APPEND and an exclusive lock: even two writers by mistake add whole lines in turn.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with os.fdopen(os.dup(fd), "r", encoding="utf-8") as f:
            lines = _lines(f.read())
        prev = line_hash(lines[-1]) if lines else GENESIS
        last: dict[str, tuple[int, str]] = {}
        today: set[str] = set()
        for raw in lines:
            rec = json.loads(raw)
            last[rec["chain"]] = (rec["seq"], rec["head"])
            if rec["date"] == day:
                today.add(rec["chain"])
        counts = dict(session.execute(select(Event.chain, func.count()).group_by(Event.chain)).all())
        out = []
        for head in session.scalars(select(ChainHead).order_by(ChainHead.chain)):
            if head.chain in today or last.get(head.chain) == (head.seq, head.hash) or head.seq == 0:
                continue
            rec = {"date": day, "chain": head.chain, "seq": head.seq, "count": counts.get(head.chain, 0),
                   "head": head.hash, "at": now.astimezone(UTC).isoformat(), "prev": prev}
            raw = json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            out.append(raw + "\n")
            prev = line_hash(raw)
            written.append(rec)
        if out:
            os.write(fd, "".join(out).encode("utf-8"))
            os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock
    for rec in written:
        log.info("chain anchor %s %s seq=%d count=%d head=%s", rec["date"], rec["chain"], rec["seq"], rec["count"], rec["head"])
    return written


@dataclass(frozen=True)
class AnchorProblem:
    line: int
    chain: str | None
    problem: str


def verify(session: Session, path: Path) -> tuple[int, list[AnchorProblem]]:
    """(lines checked, problems): a broken link inside the file, or an anchored head that the
    database no longer has at that position."""
    if not path.exists():
        return 0, []
    problems: list[AnchorProblem] = []
    prev = GENESIS
    lines = _lines(path.read_text(encoding="utf-8"))
    for n, raw in enumerate(lines, start=1):
        try:
            rec = json.loads(raw)
            chain, seq, head, day = rec["chain"], int(rec["seq"]), rec["head"], rec["date"]
        except (ValueError, KeyError, TypeError):
            problems.append(AnchorProblem(n, None, "line is not an anchor record: the file was edited"))
            prev = line_hash(raw)
            continue
        if rec.get("prev") != prev:
            problems.append(AnchorProblem(n, chain, "link to the previous line does not match: a line before it was edited or removed"))
        prev = line_hash(raw)
        stored = session.scalar(select(Event.hash).where(Event.chain == chain, Event.seq == seq))
        if stored is None:
            problems.append(AnchorProblem(
                n, chain, f"anchored on {day} at seq {seq}, but the database has no event {seq}: events were removed"))
        elif stored != head:
            problems.append(AnchorProblem(n, chain, f"anchored on {day} at seq {seq} with head {head[:16]}…, the database has "
                                                    f"{stored[:16]}… there: the chain was rewritten after the anchor"))
    return len(lines), problems
