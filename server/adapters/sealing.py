"""Biometric data sealed at rest: envelope encryption of face templates and face photos.

Why: a database dump or a copied evidence folder must reveal no face (issue 21; PIPL art. 51,
the 2025 face-recognition measures). Each object gets a data key of its own (AES-256-GCM); the
data key is wrapped (AES key wrap, RFC 3394) by a deployment key that is never in the database
or the evidence folder: it comes from a key file named by HOURPROOF_DATA_KEYS_FILE (production
keeps it outside the data dir, e.g. a mounted secret). Primitives are the `cryptography`
package's; nothing here invents crypto, it only frames the envelope.

Envelope: MAGIC | key-id length (1) | key id (ASCII) | wrapped data key (40) | nonce (12) |
ciphertext + tag. The associated data is the object's kind (b"template", b"evidence"), so a sealed
template moved into the photo store (or back) does not open. Rotation re-wraps only the 40-byte
data key under the newest deployment key; the ciphertext is untouched, so rotation is cheap and
an object is readable under either key at every moment of it (no downtime).

Key file: one key per line, "<key id> <base64 of 32 bytes>"; the last line is the primary (new
objects are sealed with it). Every running process re-reads the file when it changes or when it
meets a key id it does not know, so `hourproof keys rotate` can add a key and re-wrap while the
server keeps serving.

Why a process-wide keyring (``install``): the template column (server/models/base.SealedBytes)
seals and opens in SQLAlchemy's type layer, which sees no app; one deployment has one key file.
Several apps in one process (tests; the CLI beside a server) each install theirs: keys installed
earlier stay known for opening, so an object sealed by one still opens in the next.
"""
from __future__ import annotations

import base64
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

MAGIC = b"\x00HPSEAL1"
_WRAPPED_LEN = 40
_NONCE_LEN = 12
_KEY_LEN = 32


class SealError(ValueError):
    """A sealed object that cannot be opened: unknown key, wrong key, or tampered bytes."""


class NoKeyring(RuntimeError):
    """Biometric data was read or written with no deployment key configured (fails closed)."""


def is_sealed(blob: bytes) -> bool:
    return bytes(blob[:len(MAGIC)]) == MAGIC


def key_id_of(blob: bytes) -> str:
    """The id of the deployment key that wraps this object's data key."""
    if not is_sealed(blob):
        raise SealError("not a sealed object")
    n = blob[len(MAGIC)]
    return bytes(blob[len(MAGIC) + 1:len(MAGIC) + 1 + n]).decode("ascii")


@dataclass(frozen=True)
class _Parts:
    key_id: str
    wrapped: bytes
    nonce: bytes
    body: bytes


def _split(blob: bytes) -> _Parts:
    blob = bytes(blob)
    if not is_sealed(blob) or len(blob) < len(MAGIC) + 1:
        raise SealError("not a sealed object")
    at = len(MAGIC)
    n = blob[at]
    at += 1
    key_id = blob[at:at + n].decode("ascii", "replace")
    at += n
    wrapped, nonce, body = blob[at:at + _WRAPPED_LEN], blob[at + _WRAPPED_LEN:at + _WRAPPED_LEN + _NONCE_LEN], \
        blob[at + _WRAPPED_LEN + _NONCE_LEN:]
    if len(wrapped) != _WRAPPED_LEN or len(nonce) != _NONCE_LEN or len(body) < 16:
        raise SealError("sealed object is truncated")
    return _Parts(key_id, wrapped, nonce, body)


def _join(key_id: str, wrapped: bytes, nonce: bytes, body: bytes) -> bytes:
    kid = key_id.encode("ascii")
    return MAGIC + bytes([len(kid)]) + kid + wrapped + nonce + body


def new_key_line(key_id: str | None = None) -> str:
    """A fresh deployment key as a key-file line."""
    key_id = key_id or "k" + secrets.token_hex(6)
    return f"{key_id} {base64.b64encode(os.urandom(_KEY_LEN)).decode()}"


def _parse(text: str, source: str) -> tuple[dict[str, bytes], str]:
    keys: dict[str, bytes] = {}
    primary = ""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        try:
            key_id, key = parts[0], base64.b64decode(parts[1], validate=True)
        except (IndexError, ValueError):
            raise NoKeyring(f"{source}:{number}: expected '<key id> <base64 key>'") from None
        if len(key) != _KEY_LEN or not key_id.isascii() or not 0 < len(key_id) < 64:
            raise NoKeyring(f"{source}:{number}: a key is 32 bytes (base64) under an ASCII id")
        keys[key_id] = key
        primary = key_id
    if not keys:
        raise NoKeyring(f"{source}: no key in the key file")
    return keys, primary


class Keyring:
    """The deployment keys from one key file: seal with the newest, open with any."""

    def __init__(self, path: Path, accept_unsealed: bool = False) -> None:
        self.path = Path(path)
        #: Read biometric data written before sealing existed (an upgrade, until rotation seals it)
        self.accept_unsealed = accept_unsealed
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._keys: dict[str, bytes] = {}
        self._primary = ""
        self._load()

    @classmethod
    def create(cls, path: Path, accept_unsealed: bool = False) -> Keyring:
        """The key file at `path`, made with one new key if it is not there (owner-only)."""
        path = Path(path)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process made it first: use theirs
            else:
                with os.fdopen(fd, "w") as f:
                    f.write("# hourproof deployment keys: keep this file out of backups of the data\n")
                    f.write(new_key_line() + "\n")
                    f.flush()
                    os.fsync(f.fileno())
        return cls(path, accept_unsealed)

    def _load(self) -> None:
        try:
            st = self.path.stat()
            text = self.path.read_text(encoding="ascii")
        except FileNotFoundError:
            raise NoKeyring(f"the data key file {self.path} does not exist") from None
        keys, primary = _parse(text, str(self.path))
        self._keys, self._primary, self._stamp = keys, primary, (st.st_mtime_ns, st.st_size)

    def _fresh(self) -> None:
        """Re-read the key file if it changed (a rotation added a key)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return  # keep the keys we have: a moved file must not stop a running server
        if (st.st_mtime_ns, st.st_size) != self._stamp:
            with self._lock:
                self._load()

    @property
    def primary(self) -> str:
        self._fresh()
        return self._primary

    def key_ids(self) -> list[str]:
        self._fresh()
        return list(self._keys)

    def key(self, key_id: str) -> bytes | None:
        key = self._keys.get(key_id)
        if key is None:
            self._fresh()
            key = self._keys.get(key_id)
        return key

    def seal(self, plaintext: bytes, kind: bytes) -> bytes:
        primary = self.primary
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(_NONCE_LEN)
        body = AESGCM(data_key).encrypt(nonce, bytes(plaintext), kind)
        return _join(primary, aes_key_wrap(self._keys[primary], data_key), nonce, body)

    def _data_key(self, parts: _Parts) -> bytes:
        key = self.key(parts.key_id) or _installed_key(parts.key_id)
        if key is None:
            raise SealError(f"sealed with key {parts.key_id!r}, which is not in the key file")
        try:
            return aes_key_unwrap(key, parts.wrapped)
        except InvalidUnwrap:
            raise SealError(f"the data key does not unwrap under key {parts.key_id!r}") from None

    def open(self, blob: bytes, kind: bytes) -> bytes:
        parts = _split(blob)
        try:
            return AESGCM(self._data_key(parts)).decrypt(parts.nonce, parts.body, kind)
        except InvalidTag:
            raise SealError("a sealed object failed its integrity check") from None

    def rewrap(self, blob: bytes) -> bytes:
        """The same object with its data key wrapped by the primary key (the ciphertext is
        unchanged). Unchanged if it is wrapped by the primary already."""
        parts = _split(blob)
        primary = self.primary
        if parts.key_id == primary:
            return bytes(blob)
        return _join(primary, aes_key_wrap(self._keys[primary], self._data_key(parts)), parts.nonce, parts.body)

    def add_key(self) -> str:
        """Append a new key to the file; it becomes the primary. Returns its id."""
        line = new_key_line()
        with open(self.path, "a", encoding="ascii") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
        with self._lock:
            self._load()
        return line.split()[0]

    def retire(self, key_id: str) -> None:
        """Drop a key from the file (the caller checks first that nothing is wrapped by it)."""
        if key_id == self.primary:
            raise ValueError("the primary key cannot be retired; add a new key first")
        lines = self.path.read_text(encoding="ascii").splitlines()
        kept = [line for line in lines if line.split()[:1] != [key_id]]
        if len(kept) == len(lines):
            raise ValueError(f"no key {key_id!r} in {self.path}")
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write("\n".join(kept) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        with self._lock:
            self._load()
        _forget(key_id)


# --- the process's keyring ---------------------------------------------------------------------

_active: Keyring | None = None
_earlier: dict[str, bytes] = {}
_registry_lock = threading.Lock()


def install(keyring: Keyring) -> None:
    global _active
    with _registry_lock:
        if _active is not None:
            _earlier.update(_active._keys)
        _active = keyring


def _installed_key(key_id: str) -> bytes | None:
    return _earlier.get(key_id)


def _forget(key_id: str) -> None:
    _earlier.pop(key_id, None)


def active() -> Keyring:
    if _active is None:
        raise NoKeyring("no data key is configured: biometric data is never stored or read unsealed")
    return _active
