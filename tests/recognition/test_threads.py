"""The real dlib backend under concurrent threads (as in a threaded server worker): the same
answers as one thread, and no heap corruption (before the model pool, two threads encoding at
once aborted the process with `free(): invalid size`)."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from recognition import DlibRecognizer, load_image

pytestmark = pytest.mark.slow

PHOTOS = ["ex_obama.jpg", "ex_biden.jpg", "ex_lin-manuel-miranda.png", "ex_obama2.jpg"]


def test_eight_threads_encoding_at_once_get_the_same_encodings_as_one_thread(faces_dir):
    recognizer = DlibRecognizer()
    images = [load_image((faces_dir / "images" / "face_recognition" / p).read_bytes()).rgb for p in PHOTOS]
    boxes = [recognizer.detect(img, 1)[0] for img in images]
    serial = [recognizer.encode(img, box) for img, box in zip(images, boxes, strict=True)]
    results: dict[tuple[int, int], np.ndarray] = {}
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for rep in range(3):
                for i, (img, box) in enumerate(zip(images, boxes, strict=True)):
                    assert recognizer.detect(img, 0) is not None
                    recognizer.landmarks(img, box)
                    results[(t, rep * 10 + i)] = recognizer.encode(img, box)
        except BaseException as exc:  # noqa: BLE001 - collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 8 * 3 * len(PHOTOS)
    for (_thread, k), enc in results.items():
        assert np.allclose(enc, serial[k % 10], atol=1e-6)
