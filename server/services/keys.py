"""The deployment keys that seal biometric data at rest: what each key seals, and rotation.

Rotation re-wraps each object's data key under the newest deployment key (the ciphertext stays),
one template row or one photo file at a time, each write atomic: a server running meanwhile
reads every object under the old key or the new one (it re-reads the key file when it changes),
so nothing stops. Objects written in the clear before sealing existed are sealed on the way.
A key is retired only when nothing is wrapped by it any more."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import LargeBinary, func, select, type_coerce, update
from sqlalchemy.orm import Session

from server.adapters import sealing
from server.adapters.filestore import EvidenceStore
from server.models import FaceTemplate
from server.models.base import SealedBytes

#: Template rows re-wrapped per transaction (a short write lock each, on SQLite too)
BATCH = 200
UNSEALED = "(unsealed)"


@dataclass
class KeyUse:
    """How many templates and photo files each key id wraps (UNSEALED: written in the clear)."""

    templates: Counter = field(default_factory=Counter)
    files: Counter = field(default_factory=Counter)

    def uses(self, key_id: str) -> int:
        return self.templates[key_id] + self.files[key_id]


def _raw_template():
    # The envelope as stored: bypass SealedBytes, which would open it.
    return type_coerce(FaceTemplate.template, LargeBinary)


def _key_of(blob: bytes) -> str:
    return sealing.key_id_of(blob) if sealing.is_sealed(blob) else UNSEALED


def key_use(session: Session, store: EvidenceStore) -> KeyUse:
    use = KeyUse()
    rows = session.execute(select(_raw_template()).where(func.length(_raw_template()) > 0)
                           .execution_options(yield_per=1000))
    for (blob,) in rows:
        use.templates[_key_of(bytes(blob))] += 1
    for digest in store.digests():
        with open(store.path(digest), "rb") as f:
            use.files[_key_of(f.read(len(sealing.MAGIC) + 64))] += 1
    return use


@dataclass
class Rotation:
    primary: str
    templates: int = 0
    files: int = 0


def rewrap_all(sessionmaker, keyring: sealing.Keyring, store: EvidenceStore) -> Rotation:
    """Re-wrap (or seal) every template and photo file under the keyring's primary key."""
    done = Rotation(keyring.primary)
    last = 0
    while True:
        with sessionmaker() as session:
            batch = session.execute(select(FaceTemplate.id, _raw_template()).where(FaceTemplate.id > last)
                                    .where(func.length(_raw_template()) > 0)
                                    .order_by(FaceTemplate.id).limit(BATCH)).all()
            if not batch:
                break
            for row_id, blob in batch:
                blob = bytes(blob)
                new = keyring.rewrap(blob) if sealing.is_sealed(blob) else keyring.seal(blob, SealedBytes.KIND)
                if new != blob:
                    # Only if it is still the bytes we read: an erasure meanwhile (consent
                    # withdrawn) must not be undone by writing the old template back.
                    changed = session.execute(update(FaceTemplate).where(FaceTemplate.id == row_id,
                                                                         _raw_template() == blob)
                                              .values({FaceTemplate.template: type_coerce(new, LargeBinary)}))
                    done.templates += changed.rowcount  # type: ignore[attr-defined]
            session.commit()
            last = batch[-1][0]
    for digest in list(store.digests()):
        try:
            done.files += store.reseal(digest)
        except FileNotFoundError:
            continue  # purged meanwhile (retention): nothing left to re-wrap
    return done
