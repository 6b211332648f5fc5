"""1:1 verification on every pair of real photos in pairs.csv, at the configured threshold."""
from __future__ import annotations

import csv

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def _pairs(faces_dir, encoded):
    genuine, impostor = [], []
    with open(faces_dir / "pairs.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            a, b = encoded[row["path_a"]], encoded[row["path_b"]]
            if row["same"] == "1" and "near_duplicate" in (a.role, b.role):
                continue  # the same photo re-encoded is not evidence of anything
            (genuine if row["same"] == "1" else impostor).append((a, b))
    return genuine, impostor


def test_every_image_used_in_pairs_passes_the_quality_gate(encoded):
    failed = {p: e.codes for p, e in encoded.items() if e.role == "pair" and e.codes}
    assert failed == {}


def test_genuine_pairs_verify_and_every_impostor_pair_is_rejected(faces_dir, encoded, settings):
    genuine, impostor = _pairs(faces_dir, encoded)
    assert (len(genuine), len(impostor)) == (292, 2711)
    thr = settings.match_threshold
    gen_d = np.array([np.linalg.norm(a.encoding - b.encoding) for a, b in genuine])
    imp_d = np.array([np.linalg.norm(a.encoding - b.encoding) for a, b in impostor])
    accepted = float((gen_d < thr).mean())
    false_accepts = int((imp_d < thr).sum())
    figures = (f"threshold {thr}: genuine accepted {accepted:.4f} ({int((gen_d < thr).sum())}/{len(gen_d)}, "
               f"max {gen_d.max():.3f}), impostors accepted {false_accepts}/{len(imp_d)} (min {imp_d.min():.3f})")
    print(figures)
    assert false_accepts == 0, figures
    assert accepted >= 0.99, figures


def test_near_duplicate_copies_of_one_photo_all_match_each_other(encoded, settings):
    obama = [e.encoding for e in encoded.values() if e.role == "near_duplicate" and e.encoding is not None]
    assert len(obama) >= 5
    worst = max(np.linalg.norm(a - b) for a in obama for b in obama)
    assert worst < settings.match_threshold
