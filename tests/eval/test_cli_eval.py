"""``podium eval`` on the example: the table on stdout, the results as JSON, offline."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from eval_kit import EXAMPLE
from typer.testing import CliRunner

from podium.cli import app

runner = CliRunner()


def test_eval_prints_the_table_and_writes_the_json(tmp_path: Path) -> None:
    store, out = str(tmp_path / "runs.db"), tmp_path / "results" / "eval.json"
    args = ["eval", str(EXAMPLE / "eval.yaml"), "--store", store, "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    text = result.stdout
    for header in ("variant", "success", "p95", "tokens/run", "Δ success", "cost ×"):
        assert header in text
    rows = [line for line in text.splitlines() if "%" in line]
    lines = {line.split()[0]: line for line in rows}
    assert "0% (0/6)" in lines["single"] and "baseline" in lines["single"]
    assert "100% (6/6)" in lines["team"] and "+100 pts" in lines["team"]
    assert "single · vpn: missing '51820'" in text
    assert str(out) in text.replace("\n", "")

    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["format"] == "podium.eval/1" and data["podium_version"]
    assert {"python", "platform", "cpu_count"} <= set(data["machine"])
    assert [v["name"] for v in data["variants"]] == ["single", "single-runbook", "team"]
    assert len(data["runs"]) == 18 and data["settings"]["checker"] == "contains"
    run_id = data["runs"][-1]["run_id"]

    shown = runner.invoke(app, ["show", run_id, "--json", "--store", store])
    assert shown.exit_code == 0 and json.loads(shown.stdout)["name"] == "runbook-team"


def test_eval_json_prints_the_report_only(tmp_path: Path) -> None:
    out = tmp_path / "eval.json"
    args = ["eval", str(EXAMPLE / "eval.yaml"), "--json", "--concurrency", "1"]
    result = runner.invoke(app, [*args, "--store", "memory", "--out", str(out)])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed == json.loads(out.read_text(encoding="utf-8"))
    assert printed["settings"]["concurrency"] == 1
    team = printed["variants"][2]
    assert team["delta"]["success_points"] == 100.0 and team["budget_stops"] == 0


def test_eval_errors_name_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "eval.yaml"
    bad.write_text("tasks: tasks.jsonl\nbaseline: {name: a, spec: single.yaml}\nrepeat: 0\n")
    result = runner.invoke(app, ["eval", str(bad), "--store", "memory"])
    assert result.exit_code == 2
    assert f"{bad}:3:9: repeat: must be at least 1" in result.stderr.replace("\n", "")
    model = runner.invoke(app, ["eval", str(EXAMPLE / "eval.yaml"), "--model", "gpt-4o"])
    assert model.exit_code == 2 and "--model: unknown model 'gpt-4o'" in model.stderr


class _Frozen(datetime):
    @classmethod
    def now(cls, tz: object = None) -> _Frozen:  # type: ignore[override]
        return cls(2025, 1, 31, 12, 0, 0)


def test_evals_ending_in_the_same_second_keep_their_own_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("podium._cli_eval.datetime", _Frozen)
    for _ in range(2):
        result = runner.invoke(app, ["eval", str(EXAMPLE / "eval.yaml"), "--store", "memory"])
        assert result.exit_code == 0, result.output
    saved = sorted((tmp_path / ".podium").glob("eval-*.json"))
    assert [p.name for p in saved] == ["eval-20250131-120000-2.json", "eval-20250131-120000.json"]
    first, second = ({r["run_id"] for r in json.loads(p.read_text("utf-8"))["runs"]} for p in saved)
    assert len(first) == len(second) == 18 and not first & second


def test_results_that_cannot_be_saved_are_still_shown(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    args = ["eval", str(EXAMPLE / "eval.yaml"), "--store", "memory", "--out", str(blocker / "x")]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and "cannot write the results" in result.stderr
    assert "100% (6/6)" in result.stdout and "results: not saved" in result.stdout
    printed = runner.invoke(app, [*args, "--json"])
    assert printed.exit_code == 1 and len(json.loads(printed.stdout)["runs"]) == 18


def test_a_judge_checker_gets_its_own_cost_column(tmp_path: Path) -> None:
    source = (EXAMPLE / "eval.yaml").read_text(encoding="utf-8")
    judged = source.replace(
        "checker: contains", 'checker: {judge: {model: "scripted:judge", rubric: "Be exact."}}'
    )
    assert judged != source
    eval_file = tmp_path / "eval.yaml"
    eval_file.write_text(judged, encoding="utf-8")
    for path in EXAMPLE.iterdir():  # the specs, tasks and tool modules beside it
        if path.is_file() and path.name != "eval.yaml":
            (tmp_path / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "eval.json"
    args = ["eval", str(eval_file), "--store", "memory", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "judge/run" in result.stdout and "for the judge's calls" in result.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["settings"]["checker"] == "judge:scripted:judge"
    for variant in data["variants"]:  # tasks with a check of their own are not judged
        runs = [r for r in data["runs"] if r["variant"] == variant["name"]]
        judged_tokens = sum(r["judge_input_tokens"] + r["judge_output_tokens"] for r in runs)
        assert variant["judge_tokens"] == judged_tokens > 0
