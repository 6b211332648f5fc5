"""Signed bundles: the deployment key, the manifest, and `hourproof verify` naming exactly what
fails - a flipped byte in any file, or an event row edited in the database."""
from __future__ import annotations

import io
import json
import stat
import zipfile

import pytest
from sqlalchemy import text

from server.cli import main
from server.exports import bundle, signing
from tests.factories import add_attendance, export


def _flip_one_byte(data: bytes, name: str) -> bytes:
    """The same zip with one byte of `name` changed (in the middle of the file)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = bytearray(src.read(info.filename))
            if info.filename == name:
                body[len(body) // 2] ^= 0x01
            dst.writestr(info.filename, bytes(body))
    return out.getvalue()


@pytest.fixture
def exported(worlds, login, session, tmp_path):
    y = worlds["yubei"]
    add_attendance(session, y)
    _, data = export(login("yubei-admin"), y.class_id)
    path = tmp_path / "bundle.zip"
    path.write_bytes(data)
    return y, path, data


def _cli_verify(app, capsys, monkeypatch, *args) -> tuple[int, str]:
    monkeypatch.setenv("DATABASE_URL", app.config["HOURPROOF_SETTINGS"].database_url)
    monkeypatch.setenv("HOURPROOF_DATA_DIR", str(app.config["HOURPROOF_SETTINGS"].data_dir))
    code = main(["verify", *args])
    return code, capsys.readouterr().out


def test_an_untouched_bundle_verifies_with_the_deployments_key_and_its_chain_head(app, exported, capsys, monkeypatch):
    y, path, _ = exported
    code, out = _cli_verify(app, capsys, monkeypatch, str(path))
    assert code == 0, out
    assert "valid Ed25519 signature" in out and "files: all" in out
    assert f"chain class:{y.class_id}: head at export (seq 3) matches the database" in out


def test_the_signing_key_is_created_once_private_to_its_owner_and_served(app, client, exported):
    data_dir = app.config["HOURPROOF_SETTINGS"].data_dir
    private = signing.key_dir(data_dir) / signing.PRIVATE
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    served = client.get("/api/signing-key").get_json()
    key = signing.load_or_create(data_dir)
    assert served["key_id"] == signing.key_id(key.public_key())
    assert signing.load_public(served["public_key_pem"].encode()) is not None
    manifest = json.loads(zipfile.ZipFile(exported[1]).read("manifest.json"))
    assert manifest["signing_key"]["key_id"] == served["key_id"]


@pytest.mark.parametrize("victim", ["manifest.json", "manifest.sig", "考勤与学时.xlsx", "考勤表.csv", "学时明细.csv",
                                    "补贴核定.csv", "考勤表.pdf"])
def test_one_flipped_byte_in_any_file_fails_verification_naming_it(app, exported, capsys, monkeypatch, tmp_path, victim,
                                                                   member):
    y, _, data = exported
    name = victim if victim.startswith("manifest") else member(zipfile.ZipFile(io.BytesIO(data)), *victim.rsplit(".", 1))
    bad = tmp_path / "tampered.zip"
    bad.write_bytes(_flip_one_byte(data, name))
    code, out = _cli_verify(app, capsys, monkeypatch, str(bad))
    assert code == 1, out
    fails = [line for line in out.splitlines() if line.startswith("FAIL")]
    if victim == "manifest.json":
        assert any("signature" in f or "manifest.json unreadable" in f for f in fails), out
    elif victim == "manifest.sig":
        assert any("signature" in f for f in fails), out
    else:
        assert fails == [f"FAIL  file {name}: " + fails[0].split(f"file {name}: ", 1)[1]], out
        assert "does not match the manifest" in fails[0]


def test_a_file_added_to_the_bundle_after_signing_is_named(app, exported, capsys, monkeypatch, tmp_path):
    _, _, data = exported
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
        dst.writestr("extra.csv", "姓名\n")
    bad = tmp_path / "added.zip"
    bad.write_bytes(out.getvalue())
    code, text_out = _cli_verify(app, capsys, monkeypatch, str(bad))
    assert code == 1 and "FAIL  file extra.csv: in the bundle but not in the manifest" in text_out


def test_a_bundle_signed_by_another_key_fails_against_the_given_public_key(app, exported, capsys, monkeypatch, tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = tmp_path / "other.pem"
    other.write_bytes(signing.public_pem(Ed25519PrivateKey.generate().public_key()))
    code, out = _cli_verify(app, capsys, monkeypatch, str(exported[1]), "--public-key", str(other))
    assert code == 1 and "is not signed by key" in out


def test_an_event_row_edited_in_the_database_fails_verification_naming_the_event(app, exported, session, capsys, monkeypatch):
    y, path, _ = exported
    event_id = session.scalar(text("SELECT id FROM events WHERE chain = :c AND seq = 2"), {"c": f"class:{y.class_id}"})
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        session.execute(text("DROP TRIGGER events_no_update"))
    session.execute(text("UPDATE events SET verdict = 'rejected' WHERE id = :i"), {"i": event_id})
    session.commit()
    code, out = _cli_verify(app, capsys, monkeypatch, str(path))
    assert code == 1, out
    assert f"FAIL  chain class:{y.class_id}: event {event_id} (seq 2): content does not match its hash" in out


def test_verification_without_a_database_checks_signature_and_files_and_says_what_it_did_not_check(exported, app):
    key = signing.load_or_create(app.config["HOURPROOF_SETTINGS"].data_dir).public_key()
    result = bundle.verify_bundle(exported[1], key, None)
    assert result.ok and any("no database" in w for w in result.warnings)


def test_the_cli_exports_with_a_progress_bar_on_stderr_and_the_bundle_verifies(app, worlds, session, capsys, monkeypatch, tmp_path,
                                                                              member):
    y = worlds["yubei"]
    add_attendance(session, y)
    monkeypatch.setenv("DATABASE_URL", app.config["HOURPROOF_SETTINGS"].database_url)
    monkeypatch.setenv("HOURPROOF_DATA_DIR", str(app.config["HOURPROOF_SETTINGS"].data_dir))
    out = tmp_path / "cli.zip"
    assert main(["export", "class", str(y.class_id), "--formats", "csv", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"export class{y.class_id} [" in captured.err and "1/1" in captured.err
    assert str(out) in captured.out and "chain heads: class:" in captured.out
    z = zipfile.ZipFile(out)
    assert sorted(z.namelist()) == sorted(
        ["manifest.json", "manifest.sig"] + [member(z, t, "csv") for t in ("考勤表", "学时明细", "补贴核定")])
    assert main(["verify", str(out)]) == 0
    assert main(["export", "class", "999999", "--out", str(tmp_path / "none.zip")]) == 2
    assert "不存在" in capsys.readouterr().err
