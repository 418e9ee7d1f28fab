"""The `podium` command line, end to end on the offline scripted model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "PODIUM_MODEL", "PODIUM_STORE"):
        monkeypatch.delenv(var, raising=False)


def _store(tmp_path: Path) -> str:
    return str(tmp_path / "runs.db")


def test_demo_json_completes_offline(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--json", "--store", _store(tmp_path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # nothing but one JSON object
    assert data["stop_reason"] == "completed"
    assert data["offline"] is True
    assert data["output"].startswith("[scripted]")
    assert set(data["usage"]["per_agent"]) == {"lead", "researcher", "analyst", "writer"}
    assert data["usage"]["total"]["model_calls"] == 6


def test_demo_report_then_runs_and_show(tmp_path: Path) -> None:
    store = _store(tmp_path)
    shown = runner.invoke(app, ["demo", "--store", store])
    assert shown.exit_code == 0, shown.output
    text = shown.stdout
    assert "OFFLINE" in text and "scripted model" in text
    assert "Plan" in text and "t1" in text and "writer" in text
    assert "Final answer (offline scripted model)" in text
    assert "Per-agent usage" in text and "researcher" in text

    listed = runner.invoke(app, ["runs", "--json", "--store", store])
    runs = json.loads(listed.stdout)
    assert len(runs) == 1 and runs[0]["status"] == "completed" and runs[0]["offline"]
    run_id = runs[0]["run_id"]
    table = runner.invoke(app, ["runs", "--store", store])
    assert run_id in table.stdout

    show = runner.invoke(app, ["show", run_id[:10], "--json", "--store", store])
    assert show.exit_code == 0
    report = json.loads(show.stdout)
    agents = {row["agent"]: row for row in report["agents"]}
    assert agents["researcher"]["tool_calls"] == 1
    assert sum(r["model_calls"] for r in agents.values()) == 6
    assert runner.invoke(app, ["show", run_id, "--store", store]).exit_code == 0
    missing = runner.invoke(app, ["show", "ffffffff", "--store", store])
    assert missing.exit_code == 1 and "no run" in missing.stderr


SPEC_OK = """\
version: 1
name: t
inputs:
  topic: {required: true}
agents:
  lead: {role: plans}
  worker: {role: works}
team:
  pattern: orchestrator
  planner: lead
  workers: [worker]
"""


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        (
            SPEC_OK.replace("  worker: {role: works}", "   worker: {role: works}"),
            ":7:4:",
            "indentation",
        ),
        (
            SPEC_OK.replace("{role: plans}", "{role: plans, rol: x}"),
            ":6:23:",
            "did you mean 'role'",
        ),
        (
            SPEC_OK.replace("workers: [worker]", "workers: [wrker]"),
            ":11:13:",
            "did you mean 'worker'",
        ),
        (
            SPEC_OK.replace("{role: works}", '{role: works, tools: ["nope_mod:fn"]}'),
            ":7:33:",
            "module 'nope_mod' not found",
        ),
    ],
    ids=["bad-indentation", "unknown-key", "missing-agent", "bad-tool-path"],
)
def test_bad_spec_exits_2_with_location(tmp_path: Path, text: str, where: str, words: str) -> None:
    spec = tmp_path / "team.yaml"
    spec.write_text(text)
    result = runner.invoke(
        app, ["run", str(spec), "go", "-i", "topic=x", "--store", _store(tmp_path)]
    )
    assert result.exit_code == 2, result.output
    assert f"{spec}{where}" in result.stderr
    assert words in result.stderr.lower()
    assert "Traceback" not in result.output


def test_missing_required_input_fails_before_any_model_call(tmp_path: Path) -> None:
    spec = tmp_path / "team.yaml"
    spec.write_text(SPEC_OK)
    store = _store(tmp_path)
    result = runner.invoke(app, ["run", str(spec), "about {topic}", "--store", store])
    assert result.exit_code == 2
    assert "topic" in result.stderr
    listed = runner.invoke(app, ["runs", "--json", "--store", store])
    assert json.loads(listed.stdout) == []  # no run was even started


def test_run_with_input_and_model_override(tmp_path: Path) -> None:
    spec = tmp_path / "team.yaml"
    spec.write_text(SPEC_OK)
    result = runner.invoke(
        app,
        [
            "run",
            str(spec),
            "write about {topic}",
            "-i",
            "topic=owls",
            "--model",
            "scripted:other",
            "--json",
            "--store",
            _store(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["stop_reason"] == "completed"
    assert "owls" in data["output"]
    assert set(data["usage"]["per_model"]) == {"scripted:other"}


def test_console_script_reports_spec_error_without_traceback(tmp_path: Path) -> None:
    spec = tmp_path / "team.yaml"
    spec.write_text(textwrap.dedent(SPEC_OK).replace("planner: lead", "planner: leed"))
    exe = Path(sys.executable).with_name("podium")
    proc = subprocess.run(
        [str(exe), "run", str(spec), "x", "-i", "topic=y", "--store", _store(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert f"{spec}:10:" in proc.stderr and "leed" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
