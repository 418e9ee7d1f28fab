"""The `podium` command line, end to end on the offline scripted model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

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
    assert not Path(store).exists()  # no run was even started


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


GATED = """\
version: 1
name: gated
agents:
  drafter: {role: drafts}
  publisher: {role: publishes}
team:
  pattern: pipeline
  stages: [drafter, {use: publisher, approval: true}]
"""

SECRET = "sk-proj-abcdefghijklmnopqrstuvwx"


def test_json_of_a_run_and_an_estimate_redacts_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEMO_API_KEY", SECRET)
    spec = str(Path(__file__).parents[1] / "examples" / "research_team" / "team.yaml")
    task = f"Compare SQLite and PostgreSQL using the key {SECRET}"
    ran = runner.invoke(app, ["run", spec, task, "--json", "--store", _store(tmp_path)])
    assert ran.exit_code == 0, ran.output
    assert "[REDACTED]" in json.loads(ran.stdout)["output"]
    estimated = runner.invoke(app, ["estimate", spec, task, "--json"])
    assert estimated.exit_code == 0, estimated.output
    assert json.loads(estimated.stdout)["task"].endswith("[REDACTED]")
    assert SECRET not in ran.output + estimated.output


def test_brackets_in_the_task_are_shown_not_read_as_markup(tmp_path: Path) -> None:
    spec = str(Path(__file__).parents[1] / "examples" / "research_team" / "team.yaml")
    task = "Compare [/bold] files and [red]dirs"
    store = _store(tmp_path)
    ran = runner.invoke(app, ["run", spec, task, "--store", store])
    assert ran.exit_code == 0, ran.output
    assert "work on: Compare [/bold] files" in ran.stdout  # the plan table
    run_id = json.loads(runner.invoke(app, ["runs", "--json", "--store", store]).stdout)[0]
    assert runner.invoke(app, ["show", run_id["run_id"], "--store", store]).exit_code == 0
    estimated = runner.invoke(app, ["estimate", spec, task])
    assert estimated.exit_code == 0, estimated.output
    assert "estimate for 'Compare [/bold] files" in estimated.stdout


def test_ambiguous_run_prefix_says_so_in_every_command(tmp_path: Path) -> None:
    store = _store(tmp_path)
    for _ in range(2):
        assert runner.invoke(app, ["demo", "--json", "--store", store]).exit_code == 0
    ids = [
        r["run_id"]
        for r in json.loads(runner.invoke(app, ["runs", "--json", "--store", store]).stdout)
    ]
    prefix = ids[0][: next(i for i, (a, b) in enumerate(zip(*ids, strict=True)) if a != b)]
    for command in (["show"], ["trace"], ["export"], ["resume"], ["fork", "--at", "root"]):
        result = runner.invoke(app, [*command, prefix, "--store", store])
        assert result.exit_code == 1, (command, result.output)
        assert "starts 2 run ids" in result.stderr and ids[0] in result.stderr
        assert "Traceback" not in result.output
    for decision in (["approve", prefix, "root/x"], ["answer", prefix, "root/x", "yes"]):
        result = runner.invoke(app, [*decision, "--store", store])
        assert result.exit_code == 1 and "starts 2 run ids" in result.stderr, result.output
    missing = runner.invoke(app, ["resume", "ffffffff", "--store", store])
    assert missing.exit_code == 1 and "no run 'ffffffff'" in missing.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["resume", "abc", "--store", "foo://x"], "unsupported store URL scheme"),
        (["fork", "abc", "--at", "root", "--store", "foo://x"], "unsupported store URL scheme"),
        (["runs", "--store", "{file}/sub/runs.db"], "no run store at"),
        (["demo", "--store", "{file}/sub/runs.db"], "cannot open run store"),
    ],
    ids=["resume-bad-store", "fork-bad-store", "runs-no-dir", "demo-no-dir"],
)
def test_unusable_store_is_a_clear_error(tmp_path: Path, args: list[str], words: str) -> None:
    afile = tmp_path / "afile"
    afile.write_text("not a directory")
    result = runner.invoke(app, [a.format(file=afile) for a in args])
    assert result.exit_code == 1, result.output
    assert words in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    "cap",
    [
        ["--budget-usd", "-1"],
        ["--max-calls", "-3"],
        ["--budget-usd", "nan"],
        ["--budget-usd", "inf"],
    ],
)
def test_bad_budget_caps_are_refused_before_running(tmp_path: Path, cap: list[str]) -> None:
    spec = tmp_path / "team.yaml"
    spec.write_text(GATED)
    store = _store(tmp_path)
    result = runner.invoke(app, ["run", str(spec), "go", *cap, "--json", "--store", store])
    assert result.exit_code == 2, result.output
    assert "budget" in result.stderr and result.stdout == ""
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not Path(store).exists()  # refused before any run started


def test_export_to_an_unwritable_path_is_a_clear_error(tmp_path: Path) -> None:
    store = _store(tmp_path)
    ran = runner.invoke(app, ["demo", "--json", "--store", store])
    run_id = json.loads(ran.stdout)["run_id"]
    result = runner.invoke(app, ["export", run_id, "-o", str(tmp_path), "--store", store])
    assert result.exit_code == 1, result.output
    assert f"cannot write {tmp_path}" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def _paused(tmp_path: Path, spec_text: str, stop_reason: str) -> tuple[str, dict[str, Any]]:
    """Run `spec_text` until it pauses with `stop_reason`: its store and its one pending gate."""
    spec = tmp_path / "team.yaml"
    spec.write_text(spec_text)
    store = _store(tmp_path)
    paused = runner.invoke(app, ["run", str(spec), "draft it", "--json", "--store", store])
    assert json.loads(paused.stdout)["stop_reason"] == stop_reason
    [pending] = json.loads(runner.invoke(app, ["approvals", "--json", "--store", store]).stdout)
    return store, pending


def test_answer_does_not_approve_a_gate_that_asks_for_approval(tmp_path: Path) -> None:
    store, gate = _paused(tmp_path, GATED, "waiting_approval")
    answered = runner.invoke(
        app, ["answer", gate["run_id"], gate["step"], "no, do not publish", "--store", store]
    )
    assert answered.exit_code == 1, answered.output
    assert "podium approve or podium reject" in answered.stderr
    still = json.loads(runner.invoke(app, ["approvals", "--json", "--store", store]).stdout)
    assert [g["step"] for g in still] == [gate["step"]]  # nothing was decided


def test_reading_commands_never_create_a_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    fresh = runner.invoke(app, ["runs"])  # nothing has run here yet: not an error
    assert fresh.exit_code == 0 and "no runs yet" in fresh.stdout
    assert runner.invoke(app, ["approvals", "--json"]).stdout.strip() == "[]"
    typo = str(tmp_path / "typo.db")
    for command in (
        ["runs", "--store", typo],
        ["approvals", "--store", typo],
        ["show", "abc", "--store", typo],
        ["trace", "abc", "--store", typo],
        ["export", "abc", "--store", typo],
        ["resume", "abc", "--store", typo],
        ["reject", "abc", "root/x", "--reason", "no", "--store", typo],
        ["show", "abc"],
    ):
        result = runner.invoke(app, command)
        assert result.exit_code == 1, (command, result.output)
        assert "no run store at" in result.stderr, command
    assert list(tmp_path.iterdir()) == []  # no typo.db, no ./.podium
    assert runner.invoke(app, ["runs", "--limit", "0"]).exit_code == 2


def test_a_run_kept_in_memory_does_not_point_to_podium_show() -> None:
    result = runner.invoke(app, ["demo", "--store", "memory"])
    assert result.exit_code == 0, result.output
    assert "podium show" not in result.stdout
    assert "the runs ended with this command" in result.stdout


def test_answering_a_question_says_answered(tmp_path: Path) -> None:
    asks = GATED.replace("{role: drafts}", '{role: drafts, tools: ["podium.approvals:ask_human"]}')
    store, question = _paused(tmp_path, asks, "waiting_input")
    answered = runner.invoke(
        app, ["answer", question["run_id"], question["step"], "eu-west", "--store", store]
    )
    assert answered.exit_code == 0, answered.output
    assert answered.stdout.startswith(f"answered {question['step']}")


def test_approvals_marks_a_gate_whose_time_is_up(tmp_path: Path) -> None:
    import asyncio
    import time

    from podium import Agent, SqliteStore, tool
    from podium.testing import ScriptedModel, call

    @tool(effect="write", needs_approval=True, approval_timeout=0.05)
    def publish(text: str) -> str:
        """Publish the text."""
        return "published"

    async def pause() -> None:
        store = SqliteStore(tmp_path / "runs.db")
        try:
            model = ScriptedModel([call("publish", text="hi")])
            await Agent("writer", tools=[publish], model=model).run("x", store=store)
        finally:
            await store.close()

    asyncio.run(pause())
    time.sleep(0.1)
    listed = runner.invoke(app, ["approvals", "--store", str(tmp_path / "runs.db")])
    assert listed.exit_code == 0, listed.output
    cells = "".join(c for c in listed.stdout if c.isalnum() or c == ":")  # folded cells
    assert "timedout:itsdefaultappliesonresume" in cells


def test_the_progress_of_a_resumed_run_counts_its_earlier_steps() -> None:
    import asyncio
    import io

    from rich.console import Console

    from podium import Agent, MemoryStore, Orchestrator, tool
    from podium._cli_progress import Progress
    from podium.approvals import Approval, decide
    from podium.testing import ScriptedModel, call

    @tool(effect="write", needs_approval=True)
    def publish(text: str) -> str:
        """Publish the text."""
        return "published"

    plan = json.dumps({"subtasks": [{"id": "t1", "assignee": "w", "instructions": "publish it"}]})
    lead = Agent("lead", model=ScriptedModel([plan, "final"]))
    worker = Agent("w", tools=[publish], model=ScriptedModel([call("publish", text="x"), "done"]))
    team = Orchestrator(planner=lead, workers=[worker])

    async def go() -> Progress:
        store = MemoryStore()
        paused = await team.run("go", store=store)
        events = await store.events(paused.run_id)
        [gate] = [e for e in events if e.kind.value == "approval_request"]
        await decide(store, paused.run_id, gate.path, Approval(approved=True))
        with Progress(Console(file=io.StringIO()), title="resume") as progress:
            resumed = await team.resume(paused.run_id, store=store, listeners=(progress,))
        assert resumed.ok
        return progress

    progress = asyncio.run(go())
    assert (progress.subtasks_done, progress.subtasks_total) == (1, 1)
    assert progress.model_calls == 4  # plan and the first worker call were recorded before
