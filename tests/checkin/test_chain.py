"""The hash chain catches what the triggers cannot: an edit made behind the application's back
(triggers disabled by someone with database rights)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from server.cli import main
from server.services import chain

from .conftest import Phone, inside_fix

pytestmark = pytest.mark.slow


def _edit_behind_the_triggers(session, *statements: str, **params) -> None:
    """What someone with database rights could do: switch the append-only triggers off and edit."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        for table in ("events", "frame_fingerprints"):
            session.execute(text(f"DROP TRIGGER {table}_no_update"))
            session.execute(text(f"DROP TRIGGER {table}_no_delete"))
    for sql in statements:
        session.execute(text(sql), params)
    session.commit()


def _verify_cli(app, capsys, monkeypatch, tmp_path) -> tuple[int, dict]:
    monkeypatch.setenv("DATABASE_URL", app.config["HOURPROOF_SETTINGS"].database_url)
    monkeypatch.setenv("HOURPROOF_DATA_DIR", str(tmp_path))
    code = main(["audit", "verify", "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_an_untouched_chain_verifies(app, live, clip_burst, session, capsys, monkeypatch, tmp_path):
    phone = Phone(app)
    phone.send(live["offline"], clip_burst, location=inside_fix())
    phone.send(live["offline"], clip_burst[:6], kind="check_out", location=inside_fix())
    code, report = _verify_cli(app, capsys, monkeypatch, tmp_path)
    assert code == 0 and report["ok"] and report["checked"] == 2


def test_a_row_edited_in_the_database_is_caught_and_named(app, live, clip_burst, session, capsys, monkeypatch, tmp_path):
    phone = Phone(app)
    first = phone.send(live["offline"], clip_burst, location=inside_fix(offset_m=900)).get_json()  # rejected
    phone.send(live["offline"], clip_burst[:6], kind="check_out", location=inside_fix())
    assert first["verdict"] == "rejected"
    session.rollback()
    _edit_behind_the_triggers(session, "UPDATE events SET verdict = 'verified' WHERE id = :i", i=first["event_id"])
    code, report = _verify_cli(app, capsys, monkeypatch, tmp_path)
    assert code == 1
    assert report["problems"][0]["event_id"] == first["event_id"]
    assert "edited" in report["problems"][0]["problem"]


def _three_events(app, live, clip_burst, other_burst) -> list[int]:
    phone = Phone(app)
    return [
        phone.send(live["offline"], clip_burst, location=inside_fix()).get_json()["event_id"],
        phone.send(live["offline"], other_burst, kind="check_out", location=inside_fix(offset_m=900)).get_json()["event_id"],
        phone.send(live["offline"], clip_burst[:7], kind="check_out", location=inside_fix()).get_json()["event_id"],
    ]


DELETE = ("DELETE FROM frame_fingerprints WHERE event_id = :i", "DELETE FROM events WHERE id = :i")


def test_a_deleted_event_in_the_middle_is_caught_at_the_next_link(app, live, clip_burst, other_burst, session):
    ids = _three_events(app, live, clip_burst, other_burst)
    session.rollback()
    _edit_behind_the_triggers(session, *DELETE, i=ids[1])
    _checked, problems = chain.verify(session)
    assert problems[0].event_id == ids[2]
    assert "missing" in problems[0].problem


def test_a_deleted_last_event_is_caught_against_the_chain_head(app, live, clip_burst, other_burst, session):
    ids = _three_events(app, live, clip_burst, other_burst)
    session.rollback()
    _edit_behind_the_triggers(session, *DELETE, i=ids[2])
    _checked, problems = chain.verify(session)
    assert problems and "removed" in problems[0].problem
