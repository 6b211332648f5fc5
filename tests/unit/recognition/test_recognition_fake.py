"""The FakeRecognizer the service's unit tests will use: deterministic and faithful to the
protocol, so decisions made with it mean the same as with the real backend."""
from __future__ import annotations

import numpy as np
import pytest

from recognition import Recognizer, load_image, pose
from recognition.testing import FakeFace, FakeRecognizer, fake_photo


def _rgb(data: bytes) -> np.ndarray:
    return load_image(data).rgb


def test_the_fake_implements_the_recognizer_protocol():
    assert isinstance(FakeRecognizer(), Recognizer)


def test_the_fake_finds_exactly_the_faces_written_into_the_photo():
    fake = FakeRecognizer()
    rgb = _rgb(fake_photo(FakeFace("a"), FakeFace("b", size=80)))
    boxes = fake.detect(rgb, 1)
    assert [b.width for b in boxes] == [160, 80]
    assert fake.detect(_rgb(fake_photo()), 1) == []


def test_a_photo_that_is_not_a_fake_photo_has_no_face():
    assert FakeRecognizer().detect(np.full((100, 100, 3), 200, np.uint8), 1) == []


@pytest.mark.parametrize("yaw, roll", [(0.0, 0.0), (0.3, 12.0), (-0.4, -20.0)])
def test_fake_landmarks_have_the_requested_pose_and_a_real_heads_eye_asymmetry(yaw, roll):
    fake = FakeRecognizer()
    rgb = _rgb(fake_photo(FakeFace("a", yaw=yaw, roll=roll)))
    marks = fake.landmarks(rgb, fake.detect(rgb, 1)[0])
    assert marks.shape == (5, 2)
    measured = pose(marks)
    assert measured.yaw == pytest.approx(yaw) and measured.roll == pytest.approx(roll)
    assert measured.asymmetry == pytest.approx(0.9 * yaw)
    flat = _rgb(fake_photo(FakeFace("a", yaw=yaw, flat=True)))
    assert pose(fake.landmarks(flat, fake.detect(flat, 1)[0])).asymmetry == pytest.approx(0.0)


def test_fake_encodings_are_deterministic_and_offsets_are_exact_distances():
    fake = FakeRecognizer()

    def enc(face: FakeFace, seed: int = 0) -> np.ndarray:
        rgb = _rgb(fake_photo(face, seed=seed))
        return fake.encode(rgb, fake.detect(rgb, 1)[0])

    same = np.linalg.norm(enc(FakeFace("a"), seed=1) - enc(FakeFace("a"), seed=2))
    moved = np.linalg.norm(enc(FakeFace("a")) - enc(FakeFace("a", offset=0.42)))
    other = np.linalg.norm(enc(FakeFace("a")) - enc(FakeFace("b")))
    assert same == 0.0
    assert moved == pytest.approx(0.42)
    assert other > 0.8
