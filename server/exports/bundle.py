"""Signed evidence bundles: a zip of export files, `manifest.json` (SHA-256 and size of every
file, the chain head of every class at export time, what was sealed) and `manifest.sig` (the
Ed25519 signature of manifest.json's exact bytes, base64).

Verification checks the signature, then every file against its hash (and that no file was added
or removed), then - when a database is at hand - that each chain still verifies and still holds
the exported head at its sequence number. Every failure is named."""
from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from server.exports import signing

FORMAT = "hourproof-bundle/1"
MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def write_bundle(path: Path, files: list[tuple[str, Path]], key: Ed25519PrivateKey, *, chains: dict[str, dict],
                 meta: dict, now: datetime) -> str:
    """Write the zip (files streamed in, deflated) and return its SHA-256."""
    entries = {}
    for name, src in files:
        entries[name] = {"sha256": sha256_file(src), "bytes": src.stat().st_size}
    pub = key.public_key()
    manifest = {
        "format": FORMAT,
        "created_at": now.astimezone(UTC).isoformat(),
        "signing_key": {"algorithm": "Ed25519", "key_id": signing.key_id(pub),
                        "public_key_base64": base64.b64encode(signing.raw(pub)).decode()},
        "chains": chains,
        "files": entries,
        **meta,
    }
    body = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    signature = base64.b64encode(key.sign(body))
    tmp = path.with_name(path.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        z.writestr(MANIFEST, body)
        z.writestr(SIGNATURE, signature + b"\n")
        for name, src in files:
            z.write(src, arcname=name)
    tmp.replace(path)
    return sha256_file(path)


@dataclass
class Verification:
    ok: bool = True
    checks: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    manifest: dict | None = None

    def fail(self, message: str) -> None:
        self.ok = False
        self.failures.append(message)


def verify_bundle(path: Path, public_key: Ed25519PublicKey | None, session=None) -> Verification:
    """`public_key` None: only the key inside the bundle is at hand - integrity is checked, but
    not who made it (said in a warning)."""
    v = Verification()
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        v.fail(f"{path}: not a readable zip ({exc})")
        return v
    with z:
        names = set(z.namelist())
        if MANIFEST not in names or SIGNATURE not in names:
            v.fail(f"{MANIFEST} or {SIGNATURE} missing from the bundle")
            return v
        body = z.read(MANIFEST)
        try:
            manifest = json.loads(body)
            embedded = signing.load_public(manifest["signing_key"]["public_key_base64"].encode())
        except Exception as exc:  # noqa: BLE001 - a damaged manifest is a verification failure
            v.fail(f"{MANIFEST} unreadable: {exc.__class__.__name__}: {exc}")
            return v
        try:
            signature = base64.b64decode(z.read(SIGNATURE).strip(), validate=True)
        except ValueError as exc:
            v.fail(f"signature: {SIGNATURE} is not a base64 signature ({exc})")
            signature = b""
        v.manifest = manifest
        key = public_key or embedded
        if public_key is None:
            v.warnings.append("no public key given and none in this data dir: the signature was checked against the key "
                              "inside the bundle, which proves integrity but not who made it (pass --public-key)")
        elif signing.raw(public_key) != signing.raw(embedded):
            v.fail(f"signature: the bundle names key {signing.key_id(embedded)}, not the expected key {signing.key_id(public_key)}")
        try:
            key.verify(signature, body)
            v.checks.append(f"signature: valid Ed25519 signature of {MANIFEST} by key {signing.key_id(key)}")
        except InvalidSignature:
            v.fail(f"signature: {MANIFEST} is not signed by key {signing.key_id(key)} (the manifest or signature was changed)")
        files = manifest.get("files", {})
        for name, meta in sorted(files.items()):
            if name not in names:
                v.fail(f"file {name}: listed in the manifest, missing from the bundle")
                continue
            h = hashlib.sha256()
            size = 0
            with z.open(name) as fh:
                while chunk := fh.read(CHUNK):
                    h.update(chunk)
                    size += len(chunk)
            if h.hexdigest() != meta["sha256"]:
                v.fail(f"file {name}: SHA-256 {h.hexdigest()[:16]}... does not match the manifest's {meta['sha256'][:16]}... "
                       f"(the file was changed)")
            elif size != meta["bytes"]:
                v.fail(f"file {name}: {size} bytes, the manifest says {meta['bytes']}")
        extra = sorted(names - set(files) - {MANIFEST, SIGNATURE})
        for name in extra:
            v.fail(f"file {name}: in the bundle but not in the manifest (added after signing)")
        if not any(f.startswith("file ") for f in v.failures):
            v.checks.append(f"files: all {len(files)} match their SHA-256")
    if session is not None:
        _verify_chains(v, manifest.get("chains", {}), session)
    else:
        v.warnings.append("no database: the chain heads were not compared with the event log")
    return v


def _verify_chains(v: Verification, chains: dict, session) -> None:
    from sqlalchemy import func, select

    from server.models import Event
    from server.services import chain as chain_svc

    for name, head in sorted(chains.items()):
        _, problems = chain_svc.verify(session, name)
        for p in problems:
            where = f"event {p.event_id} (seq {p.seq})" if p.event_id else "chain head"
            v.fail(f"chain {name}: {where}: {p.problem}")
        seq, digest = head["seq"], head["hash"]
        if seq == 0:
            v.checks.append(f"chain {name}: empty at export time")
            continue
        at = session.execute(select(Event.id, Event.hash).where(Event.chain == name, Event.seq == seq)).first()
        if at is None:
            v.fail(f"chain {name}: the exported head (seq {seq}) is not in the database: events were removed")
        elif at.hash != digest:
            v.fail(f"chain {name}: event {at.id} (seq {seq}) has hash {at.hash[:16]}..., the bundle was exported at "
                   f"{digest[:16]}...: the chain was rewritten after the export")
        else:
            later = session.scalar(select(func.count()).select_from(Event).where(Event.chain == name, Event.seq > seq))
            v.checks.append(f"chain {name}: head at export (seq {seq}) matches the database"
                            + (f"; {later} later event(s) are amendments for the next export" if later else ""))
