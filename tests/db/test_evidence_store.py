"""The content-addressed evidence store under concurrent writers."""
import threading

import pytest

from server.adapters.filestore import EvidenceStore
from server.adapters.sealing import Keyring


def _store(tmp_path):
    return EvidenceStore(tmp_path / "evidence", keyring=Keyring.create(tmp_path / "keys" / "data-keys"))


def test_many_threads_storing_the_same_frame_all_succeed_and_leave_one_file(tmp_path):
    store = _store(tmp_path)
    data = b"frame" * 10_000
    errors, digests = [], []

    def put():
        try:
            digests.append(store.put(data))
        except Exception as exc:  # noqa: BLE001 - the test collects any failure
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(digests)) == 1
    assert store.get(digests[0]) == data
    assert [p.name for p in (tmp_path / "evidence").rglob("*") if p.is_file()] == [digests[0]]


def test_a_stored_file_that_was_altered_swapped_or_written_in_the_clear_is_refused_on_read(tmp_path):
    store = _store(tmp_path)
    digest, other = store.put(b"original"), store.put(b"another photo")
    path = tmp_path / "evidence" / digest[:2] / digest
    sealed = path.read_bytes()
    tampered = {
        "does not open": sealed[:-1] + bytes([sealed[-1] ^ 1]),  # one bit of the ciphertext's tag
        "does not match": (tmp_path / "evidence" / other[:2] / other).read_bytes(),  # another file's envelope
        "is not sealed": b"original",  # the right content, but written by someone without the key
    }
    for message, data in tampered.items():
        path.write_bytes(data)
        with pytest.raises(ValueError, match=message):
            store.get(digest)
    path.write_bytes(sealed)
    assert store.get(digest) == b"original"
