"""``podium eval`` on the example: the table on stdout, the results as JSON, offline."""

from __future__ import annotations

import json
from pathlib import Path

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
