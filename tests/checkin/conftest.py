"""Check-in tests run on the `live` world (tests/conftest.py): a live lesson, a trainee
(Lin-Manuel Miranda's real face, enrolled with consent) and real frames of the Hamilton clip
that show him turning right then left (`clip_burst`)."""
from __future__ import annotations

import pytest

from tests.factories import clip_jpegs


@pytest.fixture(scope="session")
def other_burst(faces_dir) -> list[bytes]:
    """Frames 170-205 (every 5th): later in the clip, different pixels."""
    return clip_jpegs(faces_dir, 170, 205, 5)
