"""Face templates and check-in photos are sealed at rest (server/adapters/sealing.py): a copy of
the database and the evidence folder without the deployment key shows no face, and rotating the
key keeps every check-in verifiable."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from sqlalchemy import select, text

import recognition
from server.adapters import sealing
from server.cli import main
from server.models import FaceTemplate
from tests.factories import Phone, inside_fix

pytestmark = pytest.mark.slow


def _raw_templates(session) -> list[bytes]:
    # What a database dump holds: the column's bytes, not what the application reads from them.
    return [bytes(b) for (b,) in session.execute(text("SELECT template FROM face_templates WHERE length(template) > 0"))]


def _evidence_files(app) -> list:
    return [p for p in (app.config["HOURPROOF_SETTINGS"].data_dir / "evidence").rglob("*") if p.is_file()]


def _cli(app, monkeypatch, capsys, *argv) -> tuple[int, str]:
    settings = app.config["HOURPROOF_SETTINGS"]
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("HOURPROOF_DATA_DIR", str(settings.data_dir))
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_a_copied_database_and_evidence_folder_without_the_key_show_no_face(app, live, clip_burst, session, tmp_path):
    verdict = Phone(app).send(live["offline"], clip_burst, location=inside_fix()).get_json()
    assert verdict["verdict"] == "verified", verdict
    raw = _raw_templates(session)
    files = _evidence_files(app)
    assert raw and len(files) == len(clip_burst)

    # The dump: every template is an envelope; no template parses, and the encodings the
    # application reads are nowhere in it.
    opened = [bytes(t) for t in session.scalars(select(FaceTemplate.template).where(FaceTemplate.erased_at.is_(None)))]
    for blob in raw:
        assert sealing.is_sealed(blob)
        with pytest.raises(ValueError):
            recognition.Template.from_bytes(blob)
    for template in opened:
        body = recognition.Template.from_bytes(template).encodings.astype("<f4").tobytes()
        assert not any(body[:64] in blob for blob in raw)

    # The evidence folder: no file decodes as an image, none carries a JPEG's markers.
    for path in files:
        data = path.read_bytes()
        assert sealing.is_sealed(data) and b"JFIF" not in data and not data.startswith(b"\xff\xd8")
        assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) is None

    # Another key (an attacker's, or a deployment restored without its key file) opens nothing.
    stranger = sealing.Keyring.create(tmp_path / "stranger" / "data-keys")
    with pytest.raises(sealing.SealError):
        stranger.open(raw[0], b"template")
    with pytest.raises(sealing.SealError):
        stranger.open(files[0].read_bytes(), b"evidence")
    # With the deployment's key, the frame is the JPEG the phone sent.
    store = app.extensions["hourproof_evidence"]
    assert store.get(files[0].name) in clip_burst


def test_rotating_the_key_keeps_every_check_in_verifiable_and_the_old_key_can_then_be_retired(
        app, live, clip_burst, other_burst, session, monkeypatch, capsys):
    phone = Phone(app)
    assert phone.send(live["offline"], clip_burst, location=inside_fix()).get_json()["verdict"] == "verified"
    keyring = app.extensions["hourproof_keyring"]
    old = keyring.primary

    code, out = _cli(app, monkeypatch, capsys, "keys", "retire", old)
    assert code == 1  # refused: it is the primary, and it wraps everything

    code, out = _cli(app, monkeypatch, capsys, "keys", "rotate")
    assert code == 0 and "re-wrapped under" in out
    new = keyring.primary  # the running app re-read the key file the command changed
    assert new != old
    assert {sealing.key_id_of(b) for b in _raw_templates(session)} == {new}
    assert {sealing.key_id_of(p.read_bytes()) for p in _evidence_files(app)} == {new}

    code, out = _cli(app, monkeypatch, capsys, "keys", "retire", old)
    assert code == 0 and keyring.key_ids() == [new]

    # Every frame still opens and matches its hash in the chain; a check-out after the rotation
    # is still matched against the (re-wrapped) template (this burst's motions are not the ones
    # asked, so liveness refuses it: the face match is what the rotation could have broken).
    code, out = _cli(app, monkeypatch, capsys, "audit", "verify", "--photos", "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["photos"]["checked"] == len(clip_burst), report
    after = phone.send(live["offline"], other_burst, kind="check_out", location=inside_fix()).get_json()
    threshold = app.config["RECOGNITION_SETTINGS"].match_threshold
    assert after["face_distance"] is not None and after["face_distance"] < threshold, after


def test_a_template_written_in_the_clear_is_refused_until_rotation_seals_it(app, live, session, monkeypatch, capsys):
    # Someone with database rights but not the key writes a face of their choosing in the clear.
    template_id, plain = session.execute(select(FaceTemplate.id, FaceTemplate.template)
                                         .where(FaceTemplate.erased_at.is_(None))).first()
    session.rollback()
    session.execute(text("UPDATE face_templates SET template = :t WHERE id = :i"), {"t": bytes(plain), "i": template_id})
    session.commit()
    with pytest.raises(sealing.SealError):
        session.scalar(select(FaceTemplate.template).where(FaceTemplate.id == template_id))
    session.rollback()

    # After an upgrade the operator lets old data be read (and sealed by rotation); then it opens.
    monkeypatch.setenv("HOURPROOF_ACCEPT_UNSEALED", "1")
    code, out = _cli(app, monkeypatch, capsys, "keys", "rotate", "--no-new-key")
    assert code == 0 and "1 templates" in out
    assert all(sealing.is_sealed(b) for b in _raw_templates(session))
    monkeypatch.delenv("HOURPROOF_ACCEPT_UNSEALED")
    app.extensions["hourproof_keyring"].accept_unsealed = False
    assert session.scalar(select(FaceTemplate.template).where(FaceTemplate.id == template_id)) == plain
