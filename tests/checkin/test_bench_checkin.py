"""bench/checkin.py stays runnable: its smoke run (--quick) drives the deployed server end to end
and prints one JSON object with every figure and target. The figures themselves are judged by
the full run on a quiet machine (README), never here: a test run is not a benchmark."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CLEAN = {"tracebacks": 0, "worker_timeouts": 0, "database_locked": 0, "errors": 0}


def test_the_check_in_benchmarks_smoke_run_completes_every_round_without_an_error(faces_dir, tmp_path):
    env = os.environ | {"HOURPROOF_FACES_DIR": str(faces_dir), "TMPDIR": str(tmp_path)}
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "checkin.py"), "--quick", "--json"], env=env,
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.count("\n") == 1, out.stdout[:500]
    report = json.loads(out.stdout)
    assert report["quick"] is True and report["bare_face_pooled"]["cpu_p50_s"] > 0
    for workers, r in report["by_workers"].items():
        check_ins = ([("low_load", r["low_load"])] if "low_load" in r else []) + \
            [(f"saturation {n} phones", summary) for n, summary in r["saturation"].items()]
        assert check_ins, workers
        for name, summary in check_ins:
            assert summary["completed_total"] > 0 and summary["errors"] == {}, (workers, name, summary)
            # The bench's phone sends the same clip every time and answers its first challenge:
            # its turns rarely come when the random prompts ask, so check-ins are refused on the
            # motions (or flagged as frames seen before); any other refusal means a check broke.
            motions = {"motion_not_seen", "motion_not_when_prompted", "unexpected_motion", "burst_ended_early", "late"}
            assert set(summary["verdicts"]) <= {"flagged", "verified", "rejected"}, (workers, name, summary["verdicts"])
            if "rejected" in summary["verdicts"]:
                refused = set(summary["reason_codes"]) - motions - {"frames_seen_before"}
                assert not refused, (workers, name, summary["reason_codes"])
            assert summary["access"]["log_problems"] == CLEAN, (workers, name)
        for name in ("heartbeat", "bare_endpoint"):
            for run in r[name]["runs"]:
                assert run["completed_in_window"] > 0 and run["errors"] == {}, (workers, name, run)
                assert run["access"]["log_problems"] == CLEAN, (workers, name)
    assert "1" in report["by_workers"] and "low_load" in report["by_workers"]["1"]
    targets = report["verdict"]["targets"]
    assert {"checkin_p50_le_1.15x_face", "throughput_ge_0.8x_ideal (deployed, workers=1)",
            "heartbeat_ge_0.5x_bare (deployed, workers=1)"} <= set(targets)
    for name, t in targets.items():
        assert isinstance(t["met"], bool) and (t["value"] is None or t["value"] > 0), (name, t)
