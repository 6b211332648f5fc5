"""The content-addressed evidence store under concurrent writers."""
import threading

from server.adapters.filestore import EvidenceStore


def test_many_threads_storing_the_same_frame_all_succeed_and_leave_one_file(tmp_path):
    store = EvidenceStore(tmp_path)
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
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [digests[0]]


def test_a_stored_file_that_was_altered_is_refused_on_read(tmp_path):
    store = EvidenceStore(tmp_path)
    digest = store.put(b"original")
    (tmp_path / digest[:2] / digest).write_bytes(b"altered!")
    try:
        store.get(digest)
    except ValueError as exc:
        assert "does not match" in str(exc)
    else:
        raise AssertionError("an altered evidence file was returned")
