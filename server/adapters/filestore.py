"""Files stored beside the records by content hash (photos, frames). Content addressing makes a
stored file self-verifying and a retried upload a no-op. Files are written atomically
(temp + fsync + rename) so a crash never leaves half a photo under a valid name."""
from __future__ import annotations

import hashlib
import os
import re
import secrets
from pathlib import Path

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class EvidenceStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, digest: str) -> Path:
        if not _HEX64.match(digest):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # A name of its own per write: two threads storing the same frame must not share a temp file.
        tmp = path.with_name(f".{digest}.{secrets.token_hex(8)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
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
        return digest

    def get(self, digest: str) -> bytes:
        data = self._path(digest).read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise ValueError(f"evidence file {digest[:12]}... does not match its hash")
        return data

    def exists(self, digest: str) -> bool:
        return self._path(digest).exists()

    def delete(self, digest: str) -> None:
        """Only for erasure a rule requires: consent withdrawn for biometric data, or a photo past
        its keeping period (services/retention.purge_photos, which records it first)."""
        self._path(digest).unlink(missing_ok=True)
