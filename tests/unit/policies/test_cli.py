"""`hourproof subsidy` and `hourproof plan check` through server.cli.main, and once as a process."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from server.cli import main

REPO = Path(__file__).resolve().parents[3]
CQ_CLOUD_MID = ["subsidy", "--region", "cq", "--occupation", "2-02-38-04", "--level", "mid",
                "--employment", "employed_after", "--offline-hours", "100", "--online-hours", "60",
                "--date", "2026-06-01"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_subsidy_json_prints_exactly_one_object_with_eligible_amount_hours_and_reasons(capsys):
    result = run_json(capsys, *CQ_CLOUD_MID)
    assert (result["eligible"], result["amount"], result["credited_hours"]) == (True, "6688.00", "160.00")
    assert {"code": "employment_multiplier", "clause": "cq 3.3",
            "detail": "培训后实现就业创业，按补贴标准的 110% 计：6688.00 元。"} in result["reasons"]
    assert all(set(r) == {"code", "clause", "detail"} for r in result["reasons"])


def test_subsidy_counts_online_hours_only_up_to_the_cap(capsys):
    result = run_json(capsys, "subsidy", "--region", "cq", "--occupation", "2-02-38-04", "--level", "mid",
                      "--employment", "employed_after", "--offline-hours", "70", "--online-hours", "90")
    assert (result["eligible"], result["amount"], result["credited_hours"]) == (False, None, "150.00")
    assert {"hours_short", "online_over_cap"} <= {r["code"] for r in result["reasons"]}


def test_subsidy_prints_a_readable_decision_by_default(capsys):
    code, out, _ = run(capsys, *CQ_CLOUD_MID)
    assert code == 0
    assert "结论：符合条件" in out and "金额：6688.00 元" in out and "[cq 3.3]" in out


def test_an_unpublished_amount_is_null_in_json_and_said_in_words(capsys):
    argv = ["subsidy", "--region", "zj-jinhua", "--occupation", "2-02-38-01", "--level", "junior",
            "--offline-hours", "64"]
    assert run_json(capsys, *argv)["amount"] is None
    _, out, _ = run(capsys, *argv)
    assert "金额：未知" in out and "金额：0" not in out


def test_a_missing_certificate_refuses(capsys):
    result = run_json(capsys, "subsidy", "--region", "js", "--occupation", "2-02-38-01", "--level", "junior",
                      "--offline-hours", "64", "--level-certificate", "no")
    assert result["eligible"] is False
    assert "level_certificate_missing" in {r["code"] for r in result["reasons"]}


def test_a_history_file_applies_the_frequency_limits(capsys, tmp_path):
    history = tmp_path / "history.json"
    history.write_text(json.dumps([{"occupation": "2-02-38-03", "level": "junior", "training_start": "2026-01-05",
                                    "region": "cq"}]), encoding="utf-8")
    result = run_json(capsys, *CQ_CLOUD_MID, "--history", str(history), "--training-start", "2026-03-01")
    assert result["eligible"] is False
    assert {"code": "yearly_limit_reached", "clause": "cq 3.4"} == {
        k: v for k, v in next(r for r in result["reasons"] if r["code"] == "yearly_limit_reached").items()
        if k != "detail"}


def test_a_history_file_is_the_checked_record_unless_marked_unchecked(capsys, tmp_path):
    history = tmp_path / "history.json"
    history.write_text(json.dumps([{"occupation": "2-02-38-03", "level": "junior", "training_start": "2025-01-05",
                                    "region": "cq"}]), encoding="utf-8")
    checked = run_json(capsys, *CQ_CLOUD_MID, "--history", str(history), "--training-start", "2026-03-01")
    assert {r["code"] for r in checked["reasons"]} >= {"history_checked"}
    assert "history_not_checked" not in {r["code"] for r in checked["reasons"]}
    unchecked = run_json(capsys, *CQ_CLOUD_MID, "--history", str(history), "--history-unchecked",
                         "--training-start", "2026-03-01")
    reason = next(r for r in unchecked["reasons"] if r["code"] == "history_not_checked")
    assert reason["clause"] == "cq 3.4" and "已知的 1 条记录" in reason["detail"]
    assert unchecked["eligible"] is True
    without = run_json(capsys, *CQ_CLOUD_MID)
    assert "history_not_checked" in {r["code"] for r in without["reasons"]}


def test_a_woman_with_an_unknown_job_category_near_retirement_is_null_for_review(capsys):
    result = run_json(capsys, "subsidy", "--region", "zj-jinhua", "--occupation", "2-02-10-11", "--level", "junior",
                      "--offline-hours", "128", "--birth-date", "1975-03-10", "--sex", "female", "--date", "2026-01-01")
    assert (result["eligible"], result["amount"]) == (None, "3300.00")


def test_the_resident_id_gives_birth_date_and_sex(capsys):
    # 11010519491231002X: a woman born 1949 - far over any retirement age.
    result = run_json(capsys, "subsidy", "--region", "zj-jinhua", "--occupation", "2-02-10-11", "--level", "junior",
                      "--offline-hours", "128", "--resident-id", "11010519491231002X", "--date", "2026-01-01")
    assert result["eligible"] is False
    assert "over_retirement_age" in {r["code"] for r in result["reasons"]}


@pytest.mark.parametrize("extra, message", [
    (["--occupation", "9-99-99-99"], "unknown occupation code '9-99-99-99'"),
    (["--resident-id", "110105194912310021"], "校验位错误"),
    (["--group", "astronaut"], "--group 'astronaut' is not a group of region cq"),
    (["--required-hours", "0"], "--required-hours must be greater than 0"),
    (["--history", "/nonexistent/history.json"], "cannot read history file"),
])
def test_bad_input_exits_2_with_a_message_and_no_traceback(capsys, extra, message):
    argv = CQ_CLOUD_MID + extra
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err and "Traceback" not in err and out == ""


@pytest.mark.parametrize("content, message", [
    ("not json", "is not valid JSON"),
    ('{"a": 1}', "expected a JSON list"),
    ('[{"occupation": "2-02-38-03", "level": "junior"}]', "entry 0: missing 'training_start'"),
    ('[{"occupation": "2-02-38-03", "level": "expert", "training_start": "2026-01-01"}]', "unknown level 'expert'"),
    ('[{"occupation": "2-02-38-03", "level": "junior", "training_start": "1/1/26"}]', "training_start must be YYYY-MM-DD"),
    ('[{"occupation": "2-02-38-03", "level": "junior", "training_start": "2026-01-01", "when": 1}]', "unknown field(s) when"),
])
def test_a_bad_history_file_exits_2_saying_what_to_fix(capsys, tmp_path, content, message):
    path = tmp_path / "history.json"
    path.write_text(content, encoding="utf-8")
    code, _, err = run(capsys, *CQ_CLOUD_MID, "--history", str(path))
    assert code == 2 and message in err


@pytest.mark.parametrize("argv", [
    ["subsidy", "--region", "mars", "--occupation", "2-02-38-04", "--level", "mid"],
    ["subsidy", "--region", "cq", "--occupation", "2-02-38-04", "--level", "expert"],
    ["subsidy", "--region", "cq", "--occupation", "2-02-38-04", "--level", "mid", "--offline-hours", "-3"],
    ["subsidy", "--region", "cq", "--occupation", "2-02-38-04", "--level", "mid", "--date", "tomorrow"],
])
def test_bad_arguments_exit_2_through_argparse(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


# --- plan check -----------------------------------------------------------------------------


def plan_data(online_lessons: int, offline_lessons: int = 8, **over):
    lessons = []
    for i in range(offline_lessons + online_lessons):
        day = f"2026-03-{i + 2:02d}"
        lessons.append({"start": f"{day}T09:00", "end": f"{day}T12:00",
                        "mode": "offline" if i < offline_lessons else "online", "content": "theory"})
    data = {"region": "js", "occupation": "2-02-38-01", "level": "junior", "starts_on": "2026-03-01",
            "ends_on": "2026-04-30", "lessons": lessons}
    data.update(over)
    return data


def write(tmp_path, data, suffix=".yaml"):
    path = tmp_path / f"plan{suffix}"
    path.write_text(json.dumps(data) if suffix == ".json" else yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_plan_check_accepts_a_plan_of_exactly_half_online_with_exit_0(capsys, tmp_path):
    code, out, _ = run(capsys, "plan", "check", str(write(tmp_path, plan_data(8))))
    assert code == 0 and "受理" in out and "50.00%" in out


def test_plan_check_prints_every_violation_and_exits_1(capsys, tmp_path):
    data = plan_data(9, offline_lessons=6, ends_on="2026-03-10")
    code, out, _ = run(capsys, "plan", "check", str(write(tmp_path, data, ".json")))
    assert code == 1
    for text in ("不予受理", "[js 2.2] online_share_over_cap", "scheduled_below_required", "lesson_outside_class_dates"):
        assert text in out


def test_plan_check_json_lists_violations_with_clauses(capsys, tmp_path):
    code, out, _ = run(capsys, "plan", "check", str(write(tmp_path, plan_data(9, offline_lessons=7))), "--json")
    result = json.loads(out)
    assert code == 1 and result["accepted"] is False
    assert [(v["code"], v["clause"]) for v in result["violations"]] == [("online_share_over_cap", "js 2.2")]


def test_plan_times_without_an_offset_are_in_the_regions_time_zone(capsys, tmp_path):
    # 23:30-01:30 Shanghai on the class's last day crosses into a day outside the class.
    data = plan_data(0, offline_lessons=16)
    data["lessons"].append({"start": "2026-04-30T23:30", "end": "2026-05-01T01:30", "mode": "offline"})
    assert run(capsys, "plan", "check", str(write(tmp_path, data)))[0] == 1
    data["lessons"][-1] = {"start": "2026-04-30T15:30+00:00", "end": "2026-04-30T16:30+00:00", "mode": "offline"}
    code, out, _ = run(capsys, "plan", "check", str(write(tmp_path, data)))
    assert code == 1 and "lesson_outside_class_dates" in out  # 15:30 UTC is 23:30 local, ends 00:30 on 1 May


def test_the_region_flag_overrides_the_file(capsys, tmp_path):
    data = plan_data(0, offline_lessons=16, level="senior")
    data["lessons"] += [{"start": f"2026-04-{d:02d}T09:00", "end": f"2026-04-{d:02d}T12:00", "mode": "offline"}
                        for d in range(1, 5)]  # 80 学时 for senior
    path = write(tmp_path, data)
    assert run(capsys, "plan", "check", str(path))[0] == 0
    code, out, _ = run(capsys, "plan", "check", str(path), "--region", "cq")
    assert code == 1 and "[cq-call 1.2] level_not_opened" in out


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("lessons"), "missing 'lessons'"),
    (lambda d: d.update(region="mars"), "region must be one of"),
    (lambda d: d.update(level="expert"), "unknown level 'expert'"),
    (lambda d: d["lessons"][0].update(mode="hybrid"), "lessons[1]: mode must be offline or online"),
    (lambda d: d["lessons"][0].update(start="9 o'clock"), "lessons[1].start: expected a time"),
    (lambda d: d.update(starts_on="March"), "starts_on: expected a date YYYY-MM-DD"),
    (lambda d: d.update(required_hours="lots"), "required_hours must be a number > 0"),
])
def test_a_bad_plan_file_exits_2_saying_what_to_fix(capsys, tmp_path, mutate, message):
    data = plan_data(0, offline_lessons=16)
    mutate(data)
    code, out, err = run(capsys, "plan", "check", str(write(tmp_path, data)))
    assert code == 2 and message in err and "Traceback" not in err


def test_a_plan_file_that_is_not_yaml_exits_2(capsys, tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text("lessons: [unclosed\n", encoding="utf-8")
    code, _, err = run(capsys, "plan", "check", str(path))
    assert code == 2 and "is not valid YAML" in err


def test_the_installed_hourproof_command_prints_json_and_exits_0():
    exe = Path(sys.executable).parent / "hourproof"
    if not exe.exists():
        exe = REPO / ".venv" / "bin" / "hourproof"
    done = subprocess.run([str(exe), *CQ_CLOUD_MID, "--json"], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["amount"] == "6688.00"


# --- deadlines ------------------------------------------------------------------------------


def test_deadlines_prints_the_regions_due_dates_from_the_given_anchors(capsys):
    result = run_json(capsys, "deadlines", "--region", "js", "--anchor", "application_received=2026-09-30",
                      "--anchor", "training_end=2031-04-30")
    due = {d["code"]: (d["due"], d["clause"], d["provisional"]) for d in result["deadlines"]}
    assert due["eligibility_review"] == ("2026-10-13", "js 2.2", False)
    assert due["electronic_records_kept"] == ("2036-04-30", "js 4.2", False)


def test_deadlines_marks_a_count_in_an_unknown_year_provisional(capsys):
    code, out, _ = run(capsys, "deadlines", "--region", "yn", "--anchor", "class_opening=2031-03-17")
    assert code == 0 and "yn 4.4.1" in out and "provisional" in out


@pytest.mark.parametrize("anchor, message", [("opening=2026-03-16", "unknown anchor 'opening'"),
                                             ("class_opening=16/3/2026", "expected NAME=YYYY-MM-DD")])
def test_deadlines_with_a_bad_anchor_exits_2(capsys, anchor, message):
    code, _, err = run(capsys, "deadlines", "--region", "yn", "--anchor", anchor)
    assert code == 2 and message in err
