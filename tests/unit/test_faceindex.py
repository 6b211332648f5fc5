"""The 1:N face index (server/adapters/faceindex.py) on real dlib encodings.

Why real encodings: the index is only useful if the nearest template of a real face is the same
person's, at the distances dlib actually produces (same person ~0.2-0.4, others ~0.7-1.1), so
the vectors here come from five people's photos in ../shared/faces (three photos each, encoded
once per module, ~3 s). Graph (HNSW) behaviour is forced with more than EXACT_BELOW vectors:
the real encodings plus copies with small gaussian noise.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from recognition import DlibRecognizer, RecognitionSettings, enroll
from server.adapters.faceindex import EXACT_BELOW, FaceIndex, Hit

pytestmark = pytest.mark.slow

PHOTOS_PER_PERSON = 3


@pytest.fixture(scope="module")
def faces(faces_dir: Path) -> list[tuple[int, np.ndarray]]:
    """(person number, centroid) for three photos of each of the five people, person-major."""
    recognizer, settings = DlibRecognizer(), RecognitionSettings()
    people = sorted(p for p in (faces_dir / "images" / "dlib_johns").iterdir() if p.is_dir())
    assert len(people) == 5
    out = []
    for person, folder in enumerate(people):
        for photo in sorted(folder.glob("*.jpg"))[:PHOTOS_PER_PERSON]:
            enrolment = enroll([photo.read_bytes()], recognizer, settings)
            assert enrolment.ok, (photo, enrolment.reasons)
            out.append((person, enrolment.template.centroid))
    return out


def _template_id(person: int, photo: int) -> int:
    return person * 10 + photo


def _trainee(person: int) -> int:
    return 100 + person


@pytest.fixture(scope="module")
def crowd(faces) -> list[tuple[int, int, np.ndarray]]:
    """Enough entries to force the graph: 150 noisy copies of each of the 15 real encodings
    (sigma 0.02 per dimension: copies of one photo sit ~0.32 from each other, a same-person
    distance), each copy a trainee of its own. The originals are left out on purpose: one vector
    with hundreds of copies around it is a hub that HNSW's neighbour pruning starves (copies lose
    every in-link; see bench/dedup.py), and no deployment holds hundreds of copies of one face."""
    rng = np.random.default_rng(7)
    entries = []
    next_id = 10_000
    for _, vec in faces:
        for _ in range(150):
            entries.append((next_id, next_id, vec + rng.normal(0, 0.02, vec.shape)))
            next_id += 1
    assert len(entries) > EXACT_BELOW
    return entries


def _index_of(faces, photos: range) -> FaceIndex:
    index = FaceIndex()
    for i, (person, vec) in enumerate(faces):
        if i % PHOTOS_PER_PERSON in photos:
            index.add(_template_id(person, i % PHOTOS_PER_PERSON), _trainee(person), vec)
    return index


def test_the_nearest_template_to_a_new_photo_is_the_same_persons(faces):
    index = _index_of(faces, range(2))  # photos 0 and 1 enrolled, photo 2 is the query
    assert len(index) == 10
    for i, (person, vec) in enumerate(faces):
        if i % PHOTOS_PER_PERSON != 2:
            continue
        hits = index.search(vec, 3)
        assert [h.trainee_id for h in hits[:2]] == [_trainee(person)] * 2
        assert hits[2].trainee_id != _trainee(person)
        assert hits[0].distance < RecognitionSettings().match_threshold < hits[2].distance
        enrolled = dict(((p, j % PHOTOS_PER_PERSON), v) for j, (p, v) in enumerate(faces))
        assert hits[0].distance == pytest.approx(
            float(np.linalg.norm(enrolled[(person, hits[0].template_id % 10)] - vec)), abs=1e-5)
        assert [h.distance for h in hits] == sorted(h.distance for h in hits)


def test_a_search_excluding_the_trainee_returns_k_templates_of_others(faces):
    index = _index_of(faces, range(3))
    person, vec = faces[0]
    hits = index.search(vec, 4, exclude_trainee=_trainee(person))
    assert len(hits) == 4
    assert all(h.trainee_id != _trainee(person) for h in hits)
    assert hits[0].distance > RecognitionSettings().match_threshold  # nobody else has this face
    assert len(index.search(vec, 100, exclude_trainee=_trainee(person))) == 12  # all the others, no more


def test_an_erased_template_is_never_found_again(faces):
    index = _index_of(faces, range(3))
    person, vec = faces[0]
    gone = _template_id(person, 0)
    index.remove(gone)
    index.remove(gone)  # absent: no error
    assert gone not in index and len(index) == 14
    assert gone not in {h.template_id for h in index.search(vec, 100)}
    # Many adds later (past the exact scan's size, so the graph answers), it is still gone.
    rng = np.random.default_rng(1)
    n = 0
    while len(index) < EXACT_BELOW + 100:
        other_person, other = faces[n % len(faces)]
        if other_person != person:
            index.add(50_000 + n, 50_000 + n, other + rng.normal(0, 0.02, other.shape))
        n += 1
    assert len(index) >= EXACT_BELOW
    assert gone not in {h.template_id for h in index.search(vec, 200)}


def test_an_erased_template_is_never_found_again_by_the_graph(faces, crowd):
    index = FaceIndex()
    index.rebuild(crowd)
    assert len(index) == len(crowd) >= EXACT_BELOW
    gone, owner, vec = crowd[0]
    assert Hit(gone, owner, pytest.approx(0.0, abs=1e-3)) in index.search(vec, 10)
    index.remove(gone)
    for k in (1, 10, 50):
        hits = index.search(vec, k)
        assert len(hits) == k and gone not in {h.template_id for h in hits}
    # HNSW deletes are lazy; even if the graph handed the key back, the index must not.
    index._index.add(gone, vec.astype(np.float32))  # behind the index's back: a stale node
    assert gone not in {h.template_id for h in index.search(vec, 10)}


def test_the_graph_finds_the_same_nearest_templates_as_an_exact_scan(faces, crowd):
    index = FaceIndex()
    index.rebuild(crowd)
    ids = np.array([e[0] for e in crowd])
    matrix = np.stack([e[2] for e in crowd])
    rng = np.random.default_rng(3)
    found = 0
    for _, vec in faces:
        query = vec + rng.normal(0, 0.02, vec.shape)
        dist = np.linalg.norm(matrix - query, axis=1)
        exact = set(ids[np.argsort(dist)[:10]])
        hits = index.search(query, 10)
        assert len(hits) == 10
        # The graph is approximate (and built by several threads, so not the same twice): every
        # hit must be a copy of the same photo, and nearly all of the exact ten must be there.
        assert all(h.distance == pytest.approx(dist[ids == h.template_id][0], abs=1e-5) for h in hits)
        assert max(h.distance for h in hits) < 0.5
        found += len(exact & {h.template_id for h in hits})
        # Skipping the nearest one's trainee still returns 10 others.
        skipped = index.search(query, 10, exclude_trainee=hits[0].trainee_id)
        assert len(skipped) == 10 and hits[0].template_id not in {h.template_id for h in skipped}
    assert found / (10 * len(faces)) >= 0.9


def test_a_rebuild_replaces_the_whole_content(faces):
    index = _index_of(faces, range(3))
    (p0, v0), (_, v1) = faces[0], faces[3]
    index.rebuild([(1001, 11, v0), (1002, 12, v1), (1001, 13, v1)])  # 1001 twice: the last one wins
    assert len(index) == 2 and 1001 in index and 1002 in index and _template_id(p0, 1) not in index
    assert {h.template_id for h in index.search(v0, 10)} == {1001, 1002}
    assert index.search(v1, 2)[0].distance == pytest.approx(0.0, abs=1e-6)
    assert {(h.template_id, h.trainee_id) for h in index.search(v1, 2)} == {(1001, 13), (1002, 12)}
    index.rebuild([])
    assert len(index) == 0 and index.search(v0, 5) == []


def test_adding_a_template_id_again_replaces_its_vector_and_keeps_one_entry(faces):
    index = FaceIndex()
    (_, first), (_, second) = faces[0], faces[3]
    index.add(7, 70, first)
    index.add(7, 71, second)
    assert len(index) == 1
    [hit] = index.search(first, 5)
    assert (hit.template_id, hit.trainee_id) == (7, 71)
    assert hit.distance == pytest.approx(float(np.linalg.norm(second - first)), abs=1e-5)


def test_a_template_erased_while_a_rebuild_runs_stays_erased(faces, crowd):
    index = FaceIndex()
    index.rebuild(crowd[:20])
    gone, _, vec = crowd[5]

    def entries():
        # A database cursor read before the erasure committed: it still yields the template.
        for n, entry in enumerate(crowd):
            if n == 100:
                index.remove(gone)  # meanwhile, the service erases it (and adds a new one)
                index.add(99_999, 99_999, faces[3][1])
            yield entry

    index.rebuild(entries())
    assert gone not in index and 99_999 in index
    assert len(index) == len(crowd)  # -1 erased, +1 added
    assert index.search(faces[3][1], 1)[0].template_id == 99_999
    assert gone not in {h.template_id for h in index.search(vec, 20)}


def test_adds_removes_and_searches_from_many_threads_keep_the_index_consistent(faces, crowd):
    index = FaceIndex()
    index.rebuild(crowd)
    errors: list[BaseException] = []
    erased = [30_000 + n for n in range(0, 400, 2)]

    def writer(offset: int) -> None:
        try:
            for n in range(offset, 400, 2):
                index.add(30_000 + n, 30_000 + n, faces[n % len(faces)][1])
                if n % 2 == 0:
                    index.remove(30_000 + n)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    def reader() -> None:
        try:
            for n in range(200):
                index.search(faces[n % len(faces)][1], 10, exclude_trainee=n)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(o,)) for o in (0, 1)] + [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(index) == len(crowd) + 200
    found = {h.template_id for _, vec in faces for h in index.search(vec, 50)}
    assert found.isdisjoint(erased)


def test_a_vector_of_the_wrong_size_or_not_finite_is_refused():
    index = FaceIndex()
    with pytest.raises(ValueError, match="128"):
        index.add(1, 1, np.zeros(127))
    with pytest.raises(ValueError, match="finite"):
        index.add(1, 1, np.full(128, np.nan))
    with pytest.raises(ValueError, match="non-negative"):
        index.add(-1, 1, np.zeros(128))
    assert len(index) == 0 and index.search(np.zeros(128), 3) == []
