"""The hash chain catches what the triggers cannot: an edit made behind the application's back
(triggers disabled by someone with database rights)."""
from __future__ import annotations

import json
from datetime import UTC

import pytest
from sqlalchemy import text

from server.cli import main
from server.services import chain
from tests.factories import Phone, inside_fix

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


def _verify_photos_cli(app, capsys, monkeypatch, tmp_path, *extra) -> tuple[int, dict]:
    # The app's own data directory: the CLI must find the same evidence store the requests wrote.
    monkeypatch.setenv("DATABASE_URL", app.config["HOURPROOF_SETTINGS"].database_url)
    monkeypatch.setenv("HOURPROOF_DATA_DIR", str(app.config["HOURPROOF_SETTINGS"].data_dir))
    code = main(["audit", "verify", "--photos", "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_a_check_in_frame_altered_or_removed_on_disk_is_named_by_audit_verify_photos(app, live, clip_burst, other_burst,
                                                                                      capsys, monkeypatch, tmp_path):
    phone = Phone(app)
    first = phone.send(live["offline"], clip_burst, location=inside_fix()).get_json()
    second = phone.send(live["offline"], other_burst, kind="check_out", location=inside_fix()).get_json()
    code, report = _verify_photos_cli(app, capsys, monkeypatch, tmp_path)
    assert code == 0 and report["ok"]
    assert report["photos"] == {"checked": len(clip_burst) + len(other_burst), "purged_by_retention": 0,
                                "expired_after_review_window": 0, "problems": []}

    # Someone with access to the disk swaps one picture and deletes another: the chain still
    # verifies (it holds hashes), the files do not.
    from server.extensions import db
    from server.models import Event

    store = app.extensions["hourproof_evidence"]
    with app.app_context():
        evidence = {e["event_id"]: db.session.get(Event, e["event_id"]).evidence["frames"] for e in (first, second)}
    swapped, removed = evidence[first["event_id"]][3], evidence[second["event_id"]][0]
    store._path(swapped).write_bytes(clip_burst[0] if store.get(swapped) != clip_burst[0] else clip_burst[1])
    store._path(removed).unlink()
    code, report = _verify_photos_cli(app, capsys, monkeypatch, tmp_path)
    assert code == 1 and not report["ok"] and report["problems"] == []  # the chain itself is intact
    problems = {(p["event_id"], p["digest"]): p["problem"] for p in report["photos"]["problems"]}
    assert set(problems) == {(first["event_id"], swapped), (second["event_id"], removed)}
    assert "altered" in problems[(first["event_id"], swapped)] and "missing" in problems[(second["event_id"], removed)]
    # one class's chain only: the same two problems (both events are that class's)
    code, report = _verify_photos_cli(app, capsys, monkeypatch, tmp_path, "--class-id", str(live["class_id"]))
    assert code == 1 and len(report["photos"]["problems"]) == 2


def test_a_frame_purged_by_the_retention_rule_is_not_a_problem(app, live, clip_burst, session, capsys, monkeypatch,
                                                               tmp_path):
    from datetime import datetime, timedelta

    from server.models import Event

    body = Phone(app).send(live["offline"], clip_burst, location=inside_fix()).get_json()
    store = app.extensions["hourproof_evidence"]
    session.rollback()
    gone = session.get(Event, body["event_id"]).evidence["frames"][0]
    store._path(gone).unlink()
    # Eleven years on, the class (ending within a month) and the event are past any region's
    # keeping period: the purge was allowed, so the missing file is counted, not reported.
    now = datetime.now(UTC)
    assert chain.verify_photos(session, store, now + timedelta(days=366 * 11)) == (len(clip_burst) - 1, 1, [])
    checked, purged, problems = chain.verify_photos(session, store, now)
    assert purged == 0 and [p.digest for p in problems] == [gone] and "missing" in problems[0].problem
