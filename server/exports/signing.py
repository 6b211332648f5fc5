"""The deployment's Ed25519 signing key: created on first use in <data dir>/signing, the private
key readable by the owner only (0600), the public key served (GET /api/signing-key) and printed
(`hourproof signing-key`) so that anyone can check a bundle's origin."""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PRIVATE = "ed25519-private.pem"
PUBLIC = "ed25519-public.pem"


def key_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "signing"


def load_or_create(data_dir: Path) -> Ed25519PrivateKey:
    d = key_dir(data_dir)
    path = d / PRIVATE
    if not path.exists():
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        # Written whole under a name of its own, then linked into place: link() fails if another
        # process got there first (then its key is the key), and nobody ever reads half a key.
        tmp = d / f".{PRIVATE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
            (d / PUBLIC).write_bytes(public_pem(key.public_key()))
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return loaded


def deployment_public_key(data_dir: Path) -> Ed25519PublicKey | None:
    """The deployment's public key if this data dir has one (never creates it)."""
    path = key_dir(data_dir) / PRIVATE
    if not path.exists():
        return None
    return load_or_create(data_dir).public_key()


def public_pem(pub: Ed25519PublicKey) -> bytes:
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def raw(pub: Ed25519PublicKey) -> bytes:
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(pub: Ed25519PublicKey) -> str:
    """Short name of a key: the first 16 hex digits of SHA-256 of its raw 32 bytes."""
    return hashlib.sha256(raw(pub)).hexdigest()[:16]


def load_public(data: bytes) -> Ed25519PublicKey:
    """A public key from a PEM file, or the base64 of its raw 32 bytes (as the API serves it)."""
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        key = serialization.load_pem_public_key(text)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))


def describe(pub: Ed25519PublicKey) -> dict:
    return {"algorithm": "Ed25519", "key_id": key_id(pub), "public_key_base64": base64.b64encode(raw(pub)).decode(),
            "public_key_pem": public_pem(pub).decode()}
