"""`hourproof faces calibrate` on ten real East Asian photos (../shared/faces_ea): the thresholds it
prints must do what it says on the scores it printed, and bad input is a message, not a traceback."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from recognition import RecognitionSettings
from server.cli import faces as cli_faces
from server.cli import main
from server.config import recognition_settings

pytestmark = pytest.mark.slow

# Four people, 2-3 photos each, all passing the quality gate: 8 genuine and 37 impostor pairs.
PICK = {"Jackie_Chan": ("0001", "0002", "0003"), "Michelle_Kwan": ("0001", "0002", "0003"),
        "Lucy_Liu": ("0001", "0003"), "Yoko_Ono": ("0001", "0002")}


@pytest.fixture(scope="module")
def small_set(faces_dir: Path, tmp_path_factory) -> Path:
    """A pairs.csv over links to the picked images, paths relative to its own folder."""
    source = faces_dir.parent / "faces_ea"
    if not (source / "labels.csv").exists():
        if os.environ.get("CI"):
            pytest.fail(f"East Asian face data missing at {source}")
        pytest.skip(f"East Asian face data not found at {source}")
    root = tmp_path_factory.mktemp("faces_ea_small")
    (root / "img").mkdir()
    photos = [(f"img/{who}_{n}.jpg", who) for who, numbers in PICK.items() for n in numbers]
    for path, _ in photos:
        (root / path).symlink_to((source / path).resolve())
    rows = [f"{a},{b},{int(wa == wb)}" for i, (a, wa) in enumerate(photos) for b, wb in photos[i + 1:]]
    (root / "pairs.csv").write_text("path_a,path_b,same\n" + "\n".join(rows) + "\n")
    return root / "pairs.csv"


def _scores(values: list[float | None]) -> np.ndarray:
    return np.array([np.inf if v is None else v for v in values])


def test_the_printed_thresholds_meet_the_targets_on_the_printed_scores(small_set, capsys):
    code = main(["faces", "calibrate", "--pairs", str(small_set), "--target-far", "0.05", "--target-tar", "0.9", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("\n") == 1  # exactly one JSON object
    report = json.loads(out)
    genuine, impostor = _scores(report["scores"]["genuine"]), _scores(report["scores"]["impostor"])
    assert (report["genuine"], report["impostor"], len(genuine), len(impostor)) == (8, 37, 8, 37)
    assert report["unusable_images"] == []

    accept = report["accept_below"]
    assert np.mean(impostor < accept) <= 0.05
    # the largest such threshold: it is an impostor score, so anything above it lets one more in
    assert accept in impostor and np.mean(impostor <= accept) > 0.05
    assert np.mean(genuine < report["refuse_from"]) >= 0.9
    assert report["refuse_from"] >= accept

    suggested = report["suggested"]
    assert suggested["match_threshold"] <= accept and np.mean(impostor < suggested["match_threshold"]) <= 0.05
    assert np.mean(genuine < suggested["review_threshold"]) >= 0.9
    assert suggested["env"] == {"HOURPROOF_MATCH_THRESHOLD": f"{suggested['match_threshold']:.3f}",
                                "HOURPROOF_REVIEW_THRESHOLD": f"{suggested['review_threshold']:.3f}"}
    review = np.mean((genuine >= accept) & (genuine < report["refuse_from"]))
    assert report["three_way"]["review_per_100_honest"] == pytest.approx(100 * review)
    assert report["det"] and all(0 <= p["far"] <= 1 and 0 <= p["frr"] <= 1 for p in report["det"])
    assert report["deployed"]["match_threshold"] < report["deployed"]["review_threshold"]

    # the human report of the same result names the same settings
    cli_faces._print_human(report)
    text = capsys.readouterr().out
    assert f"HOURPROOF_MATCH_THRESHOLD={suggested['match_threshold']:.3f}" in text
    assert "review per 100 honest" in text and "当前部署 deployed" in text


def test_a_missing_pairs_file_or_missing_labels_is_a_message_and_exit_code_2(tmp_path, small_set, capsys):
    missing = tmp_path / "nowhere" / "pairs.csv"
    assert main(["faces", "calibrate", "--pairs", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"cannot read pairs file {missing}" in err and "Traceback" not in err

    assert main(["faces", "calibrate", "--pairs", str(small_set), "--protocol", "gallery"]) == 2
    err = capsys.readouterr().err
    assert "gallery protocol needs labels" in err and "--labels" in err


def test_the_thresholds_it_tells_the_operator_to_set_are_read_from_the_environment():
    settings = recognition_settings({"HOURPROOF_MATCH_THRESHOLD": "0.377", "HOURPROOF_REVIEW_THRESHOLD": " 0.452 "})
    assert (settings.match_threshold, settings.review_threshold) == (0.377, 0.452)
    assert recognition_settings({}) == RecognitionSettings()
    for env, message in [({"HOURPROOF_MATCH_THRESHOLD": "abc"}, "must be a number"),
                         ({"HOURPROOF_REVIEW_THRESHOLD": "-1"}, "must be a face distance > 0"),
                         ({"HOURPROOF_MATCH_THRESHOLD": "0.5", "HOURPROOF_REVIEW_THRESHOLD": "0.4"}, "must be at least")]:
        with pytest.raises(ValueError, match=message):
            recognition_settings(env)
