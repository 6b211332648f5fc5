"""The benchmark's figures: its metric functions, and one small run end to end."""
from __future__ import annotations

import json

import numpy as np
import pytest

from recognition import bench

pytestmark = pytest.mark.slow


def test_tar_at_far_picks_the_threshold_that_lets_at_most_that_share_of_impostors_in():
    impostor = np.linspace(0.5, 1.5, 1000)
    genuine = np.array([0.3, 0.4, 0.5, 0.52, np.inf])
    tar, threshold = bench.tar_at_far(genuine, impostor, 1e-2)
    assert np.sum(impostor < threshold) == 10
    assert threshold == pytest.approx(0.51, abs=1e-3)
    assert tar == pytest.approx(3 / 5)  # 0.52 is over it; the unusable pair (inf) is rejected


def test_equal_error_rate_is_zero_for_separable_scores_and_half_for_identical_ones():
    assert bench.equal_error_rate(np.array([0.1, 0.2]), np.array([0.8, 0.9]))[0] == 0.0
    same = np.array([0.5, 0.5])
    assert bench.equal_error_rate(same, same)[0] == pytest.approx(0.5)


def test_the_benchmark_prints_exactly_one_json_object(faces_dir, tmp_path, capsys):
    johns = faces_dir / "images" / "dlib_johns"
    a, b = sorted((johns / "John_Simm").iterdir())[:2]
    c = sorted((johns / "John_Salley").iterdir())[0]
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"path_a,path_b,same\n{a},{b},1\n{a},{c},0\n{b},{c},0\n")
    video = faces_dir / "video" / "short_hamilton_clip.mp4"
    assert bench.main(["--pairs", str(pairs), "--video", str(video), "--json"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out)
    assert out.count("\n") == 1
    assert (report["genuine_pairs"], report["impostor_pairs"], report["images_no_face"]) == (1, 2, 0)
    for key in ("tar_at_far_1e-2", "tar_at_far_1e-3", "eer", "accuracy_at_threshold"):
        assert 0.0 <= report[key] <= 1.0
    for key in ("detect", "encode", "verification", "bare_face_recognition", "liveness_burst_10"):
        assert report["ms"][key]["p50"] > 0
    assert report["liveness"]["passed"] is True
    assert report["machine"]["cpu_count"] >= 1
