"""The benchmark run end to end on a few real images (its metrics are recognition.calibration's,
tested in tests/unit/recognition/test_calibration.py)."""
from __future__ import annotations

import json

import pytest

from recognition import RecognitionSettings, bench
from recognition.identity import template_shift

pytestmark = pytest.mark.slow


def test_the_benchmark_prints_exactly_one_json_object_with_the_deployed_rule_and_the_check_in_protocols(
        faces_dir, tmp_path, capsys):
    johns = faces_dir / "images" / "dlib_johns"
    a1, a2, a3, a4 = sorted((johns / "John_Simm").iterdir())[:4]
    c = sorted((johns / "John_Salley").iterdir())[0]
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"path_a,path_b,same\n{a1},{a2},1\n{a3},{a4},1\n{a1},{c},0\n{a2},{c},0\n{a3},{c},0\n")
    # labels.csv beside the pairs file switches the gallery and fused-probe protocols on
    (tmp_path / "labels.csv").write_text(
        "path,identity,role\n" + "".join(f"{p},John_Simm,pair\n" for p in (a1, a2, a3, a4)) + f"{c},John_Salley,pair\n")
    video = faces_dir / "video" / "short_hamilton_clip.mp4"
    assert bench.main(["--pairs", str(pairs), "--video", str(video), "--json"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out)
    assert out.count("\n") == 1
    assert (report["genuine_pairs"], report["impostor_pairs"], report["images_no_face"]) == (2, 3, 0)
    for key in ("tar_at_far_1e-2", "tar_at_far_1e-3", "eer", "accuracy_at_threshold"):
        assert 0.0 <= report[key] <= 1.0
    for key in ("detect", "encode", "verification", "bare_face_recognition", "liveness_burst"):
        assert report["ms"][key]["p50"] > 0
    assert report["liveness"]["passed"] is True
    # honest bursts cut from the clip mostly pass every check (21 of 24 on 2026-12-07)
    honest = report["liveness"]["honest_windows"]
    assert honest["windows"] == 24 and honest["false_rejection"] <= 0.25, honest
    assert report["machine"]["cpu_count"] >= 1

    deployed = report["deployed"]
    settings = RecognitionSettings()
    # a 1:1 pair has no deployment around it: the strictest per-template thresholds
    strictest = template_shift(None, settings)[0]
    assert (deployed["threshold"], deployed["review_threshold"]) == pytest.approx(
        (settings.match_threshold + strictest, settings.review_threshold + strictest))
    assert deployed["review_per_100_honest"] + deployed["refused_per_100_honest"] == pytest.approx(
        100 * (1 - deployed["tar"]), abs=0.2)
    # Simm enrols 3 photos and checks in with the 4th; Salley (one photo) is only an impostor
    gallery = report["gallery"]
    assert (gallery["enrol_photos"], gallery["genuine"], gallery["impostor"]) == (3, 1, 1)
    # fused: 4 photos leave 1 to enrol and one group of 3 to probe with
    fused = report["fused_probe"]
    assert (fused["fuse"], fused["genuine"], fused["impostor"]) == (3, 1, 1)
    for figures in (gallery, fused):
        assert {"far", "tar", "tar_at_far_1e-3", "threshold_at_far_1e-3", "review_per_100_honest",
                "raw_tar_at_far_1e-3"} <= set(figures)
    targets = report["targets"]
    assert targets["gallery_far_le_1e-3_at_tar_ge_0.97"] == (gallery["tar_at_far_1e-3"] >= 0.97)
    assert targets["pairs_far_le_1e-3_at_deployed"] == (deployed["far"] <= 1e-3)
    assert report["notes"] == []
