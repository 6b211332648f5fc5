"""Files stored beside the records by content hash (photos, frames). Content addressing makes a
stored file self-verifying and a retried upload a no-op. Files are written atomically
(temp + fsync + rename) so a crash never leaves half a photo under a valid name.

Face photos are sealed at rest (server/adapters/sealing.py): a store given a keyring writes the
envelope under the SHA-256 of the *plain* photo, so the name still proves the content once
opened, the chain's hashes still name the files, and a copied folder holds no decodable image."""
from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

from server.adapters.sealing import Keyring, SealError, is_sealed

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class TooLarge(ValueError):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"larger than {max_bytes} bytes")
        self.max_bytes = max_bytes


class EvidenceStore:
    """`shared=True` (lesson videos: teaching material, not personal data) makes files readable
    by other users, so nginx, running as its own user, can send them (docker/nginx.conf);
    evidence stays owner-only, and is sealed with `keyring`: a store of personal data without a
    keyring is refused, so no code path can write a face in the clear by forgetting it."""

    #: The associated data of a sealed photo (a sealed template will not open as a photo)
    KIND = b"evidence"

    def __init__(self, root: Path, shared: bool = False, keyring: Keyring | None = None,
                 accept_unsealed: bool = False) -> None:
        if not shared and keyring is None:
            raise ValueError("an evidence store holds faces: it needs the deployment's keyring")
        self.root = Path(root)
        self._file_mode, self._dir_mode = (0o644, 0o755) if shared else (0o600, 0o700)
        self.keyring = keyring
        #: Files written before sealing existed are read only while the operator allows it
        #: (HOURPROOF_ACCEPT_UNSEALED, until `hourproof keys rotate` has sealed them).
        self.accept_unsealed = accept_unsealed

    def _path(self, digest: str) -> Path:
        if not _HEX64.match(digest):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if path.exists():
            return digest
        self._write(path, self.keyring.seal(data, self.KIND) if self.keyring else data)
        return digest

    def _write(self, path: Path, data: bytes) -> None:
        digest = path.name
        path.parent.mkdir(parents=True, exist_ok=True, mode=self._dir_mode)
        # A name of its own per write: two threads storing the same frame must not share a temp file.
        tmp = path.with_name(f".{digest}.{secrets.token_hex(8)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, self._file_mode)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)  # atomic; the same content under the same name if another writer won
        # The rename itself must survive a crash: sync the directory entry too.
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def put_stream(self, stream, max_bytes: int) -> tuple[str, int]:
        """Store a large upload (a lesson video) without holding it in memory: copied to a temp
        file while hashed, then renamed to its hash. Raises TooLarge past `max_bytes`, leaving
        nothing behind. Returns (digest, size). Only for a shared store (videos are not sealed)."""
        if self.keyring is not None:
            raise ValueError("put_stream writes in the clear: not for a sealed store")
        self.root.mkdir(parents=True, exist_ok=True, mode=self._dir_mode)
        tmp = self.root / f".incoming.{secrets.token_hex(8)}.tmp"
        h, size = hashlib.sha256(), 0
        try:
            with open(tmp, "xb") as out:
                os.chmod(tmp, self._file_mode)
                while chunk := stream.read(1024 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(max_bytes)
                    h.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = h.hexdigest()
            path = self._path(digest)
            path.parent.mkdir(parents=True, exist_ok=True, mode=self._dir_mode)
            os.replace(tmp, path)  # the same content under the same name if it was there already
        finally:
            tmp.unlink(missing_ok=True)
        return digest, size

    def path(self, digest: str) -> Path:
        """Where a stored file is (for sending it with range requests, or naming it to nginx)."""
        return self._path(digest)

    def get(self, digest: str) -> bytes:
        data = self._path(digest).read_bytes()
        if self.keyring is not None:
            if is_sealed(data):
                try:
                    data = self.keyring.open(data, self.KIND)
                except SealError as exc:
                    raise ValueError(f"evidence file {digest[:12]}... does not open: {exc}") from None
            elif not self.accept_unsealed:
                raise ValueError(f"evidence file {digest[:12]}... is not sealed (run `hourproof keys rotate`)")
        if hashlib.sha256(data).hexdigest() != digest:
            raise ValueError(f"evidence file {digest[:12]}... does not match its hash")
        return data

    def digests(self) -> Iterator[str]:
        """Every stored file's name (for rotation and audits)."""
        if self.root.exists():
            for path in self.root.glob("??/*"):
                if _HEX64.match(path.name):
                    yield path.name

    def reseal(self, digest: str) -> bool:
        """Re-wrap one file's data key with the primary key (sealing it first if it was written
        before sealing existed). The plain content is checked against its name before anything
        is written. True if the file changed."""
        if self.keyring is None:
            raise ValueError("not a sealed store")
        path = self._path(digest)
        blob = path.read_bytes()
        if is_sealed(blob):
            new = self.keyring.rewrap(blob)
            plain = self.keyring.open(new, self.KIND)
        else:
            plain, new = blob, self.keyring.seal(blob, self.KIND)
        if hashlib.sha256(plain).hexdigest() != digest:
            raise ValueError(f"evidence file {digest[:12]}... does not match its hash")
        if new == blob:
            return False
        self._write(path, new)  # atomic: a reader sees the old envelope or the new, both open
        return True

    def exists(self, digest: str) -> bool:
        return self._path(digest).exists()

    def delete(self, digest: str) -> None:
        """Only for erasure a rule requires: consent withdrawn for biometric data, or a photo past
        its keeping period (services/retention.purge_photos, which records it first)."""
        self._path(digest).unlink(missing_ok=True)
