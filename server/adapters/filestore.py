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


class TooLarge(ValueError):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"larger than {max_bytes} bytes")
        self.max_bytes = max_bytes


class EvidenceStore:
    """`shared=True` (lesson videos: teaching material, not personal data) makes files readable
    by other users, so nginx, running as its own user, can send them (docker/nginx.conf);
    evidence stays owner-only."""

    def __init__(self, root: Path, shared: bool = False) -> None:
        self.root = Path(root)
        self._file_mode, self._dir_mode = (0o644, 0o755) if shared else (0o600, 0o700)

    def _path(self, digest: str) -> Path:
        if not _HEX64.match(digest):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if path.exists():
            return digest
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
        return digest

    def put_stream(self, stream, max_bytes: int) -> tuple[str, int]:
        """Store a large upload (a lesson video) without holding it in memory: copied to a temp
        file while hashed, then renamed to its hash. Raises TooLarge past `max_bytes`, leaving
        nothing behind. Returns (digest, size)."""
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
        if hashlib.sha256(data).hexdigest() != digest:
            raise ValueError(f"evidence file {digest[:12]}... does not match its hash")
        return data

    def exists(self, digest: str) -> bool:
        return self._path(digest).exists()

    def delete(self, digest: str) -> None:
        """Only for erasure a rule requires: consent withdrawn for biometric data, or a photo past
        its keeping period (services/retention.purge_photos, which records it first)."""
        self._path(digest).unlink(missing_ok=True)
