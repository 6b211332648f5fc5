"""`hourproof audit verify` as an auditor runs it: the chains, then the daily anchors against the
database. A chain rewritten with every hash recomputed passes the chain check; its anchor names it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from server.models import Event
from server.services import anchors
from tests.factories import NOW, chain_with_events, rewrite_event

HOURPROOF = str(Path(sys.executable).with_name("hourproof"))


def _verify(url: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(DATABASE_URL=url, HOURPROOF_DATA_DIR=str(data_dir), SECRET_KEY="test-secret")
    return subprocess.run([HOURPROOF, "audit", "verify"], env=env, capture_output=True, text=True, timeout=120)


def test_audit_verify_checks_the_anchors_and_names_a_chain_rewritten_after_its_anchor(app, session, world, test_db_url):
    data_dir = app.config["HOURPROOF_SETTINGS"].data_dir
    cls, _, _ = chain_with_events(session, world)
    anchors.anchor_heads(session, anchors.anchor_path(data_dir), NOW)

    clean = _verify(test_db_url, data_dir)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "1 anchors checked" in clean.stdout and "all match the database" in clean.stdout

    last = session.scalar(select(Event).where(Event.class_id == cls.id).order_by(Event.seq.desc()))
    rewrite_event(session, last.id, {"verdict": "rejected"})
    broken = _verify(test_db_url, data_dir)
    assert broken.returncode == 1
    assert "all chains verify" in broken.stdout  # the chain alone is consistent again
    assert f"ANCHOR MISMATCH class:{cls.id}" in broken.stdout and "rewritten after the anchor" in broken.stdout
