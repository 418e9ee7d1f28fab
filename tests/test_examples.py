"""Every example in examples/ runs offline and shows what it is meant to show."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from podium import Event, EventKind, MemoryStore, Result, StopReason
from podium.spec import load_spec

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SPECS = sorted(EXAMPLES.glob("*/team.yaml"))
SCRIPTS = sorted(EXAMPLES.glob("*/run.py"))
KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "PODIUM_MODEL", "PODIUM_STORE")
TASKS = {
    "research_team": "Compare SQLite and PostgreSQL for a small team",
    "pipeline": "Write the release note for podium 2.1",
    "hierarchy": "Announce the launch of our offline-first notes app",
    "group_chat": "Review the plan to store session tokens in localStorage",
    "handoffs": "I was charged twice for invoice INV-1042",
}


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No provider keys; forget the example modules a test imported."""
    for var in KEYS:
        monkeypatch.delenv(var, raising=False)
    before_path = list(sys.path)
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        origin = getattr(sys.modules[name], "__file__", None) or ""
        if origin and Path(origin).resolve().is_relative_to(EXAMPLES):
            del sys.modules[name]
    assert sys.path == before_path


def run_example(folder: str) -> tuple[Result, list[Event]]:
    team = load_spec(EXAMPLES / folder / "team.yaml").build()
    store = MemoryStore()
    result = team.run_sync(TASKS[folder], store=store)
    return result, asyncio.run(store.events(result.run_id))


def of_kind(events: list[Event], kind: EventKind) -> list[Event]:
    return [e for e in events if e.kind is kind]


def test_every_example_is_listed_and_has_a_task() -> None:
    folders = {p.parent.name for p in SPECS}
    assert folders == set(TASKS)
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for folder in folders:
        command = f'podium run examples/{folder}/team.yaml "'
        assert command in readme, folder
    for script in SCRIPTS:
        assert f"python examples/{script.parent.name}/run.py" in readme


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.parent.name)
def test_example_runs_offline(spec: Path) -> None:
    header = spec.read_text(encoding="utf-8").split("\nversion:")[0]
    command = f"podium run examples/{spec.parent.name}/team.yaml"
    assert command in header or "podium demo" in header  # it says how to run it
    result, events = run_example(spec.parent.name)
    assert result.stop_reason is StopReason.COMPLETED, result.error
    assert result.offline and str(result.output).startswith("[scripted]")
    assert not of_kind(events, EventKind.ERROR)


def test_pipeline_passes_work_on_through_the_blackboard() -> None:
    _, events = run_example("pipeline")
    stages = [e.payload["stage"] for e in of_kind(events, EventKind.STAGE_END)]
    assert stages == ["collector", "analyst", "writer", "editor"]
    assert of_kind(events, EventKind.STAGE_END)[-1].payload["check"] == "passed"
    writes = {
        e.payload["key"]: (e.agent, e.payload["sources"])
        for e in of_kind(events, EventKind.BLACKBOARD_WRITE)
    }
    assert writes == {
        "changes": ("collector", []),
        "highlights": ("analyst", ["changes"]),
        "draft": ("writer", ["changes", "highlights"]),
        "release_note": ("editor", ["changes", "draft"]),
    }
    # the writer's prompt holds the entries it reads, with provenance
    prompt = next(
        e.payload["messages"][1]["content"]
        for e in of_kind(events, EventKind.MODEL_REQUEST)
        if e.agent == "writer"
    )
    assert "## Shared memory" in prompt
    assert "### changes (by collector, v1, unverified)" in prompt
    assert "### highlights (by analyst, v1, unverified, from changes)" in prompt
    assert "release_note" not in prompt


def test_hierarchy_runs_a_pipeline_team_as_a_worker() -> None:
    _, events = run_example("hierarchy")
    plan = of_kind(events, EventKind.PLAN)[0].payload["plan"]["subtasks"]
    assert [(s["assignee"], s["depends_on"]) for s in plan] == [
        ("researcher", []),
        ("announcement_team", ["t1"]),
    ]
    paths = [e.path for e in events]
    assert any(p.startswith("root/task[t2]/stage[drafter]/model#") for p in paths)
    assert any(p.startswith("root/task[t2]/stage[reviewer]/model#") for p in paths)
    draft = next(e for e in of_kind(events, EventKind.BLACKBOARD_WRITE) if e.agent == "drafter")
    assert draft.payload["key"] == "announcement"
    assert draft.path == "root/task[t2]/stage[drafter]"
    # the pipeline got the research result it depends on
    drafter_prompt = next(
        e.payload["messages"][1]["content"]
        for e in of_kind(events, EventKind.MODEL_REQUEST)
        if e.agent == "drafter"
    )
    assert "### t1 (researcher)" in drafter_prompt
    assert "Competitor A" in drafter_prompt


def test_group_chat_takes_turns_within_a_window() -> None:
    _, events = run_example("group_chat")
    speakers = [e.payload["speaker"] for e in of_kind(events, EventKind.CHAT_MESSAGE)]
    assert speakers == ["architect", "security", "product"] * 2
    notices = [e.payload for e in of_kind(events, EventKind.NOTICE)]
    assert {"code": "chat_ended", "reason": "condition", "rounds": 6} in notices
    truncated = [n for n in notices if n["code"] == "history_truncated"]
    assert [(n["round"], n["hidden"], n["shown"]) for n in truncated] == [(4, 1, 3), (5, 2, 3)]
    tools = [e.payload["tool"] for e in of_kind(events, EventKind.TOOL_CALL)]
    assert tools == ["lookup_policy", "lookup_policy"]


def test_handoffs_spec_hands_over_with_a_validated_payload() -> None:
    result, events = run_example("handoffs")
    (handoff,) = of_kind(events, EventKind.HANDOFF)
    assert (handoff.payload["from"], handoff.payload["to"]) == ("triage", "billing")
    assert set(handoff.payload["payload"]) == {"invoice_id", "issue"}
    assert str(result.output).startswith("[scripted] billing")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.parent.name)
def test_run_script_works_offline(script: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in KEYS}
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "OFFLINE" in done.stdout
    assert done.stdout.count("stop:    completed") == 2
    assert "handoff: triage -> billing" in done.stdout
    assert "handoff: triage -> tech" in done.stdout
    assert "KB-17" in done.stdout and "INV-1042: 49.00 EUR charged twice" in done.stdout
    assert not (tmp_path / ".podium").exists()


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.parent.name)
def test_example_runs_from_the_cli(spec: Path) -> None:
    from typer.testing import CliRunner

    from podium.cli import app

    task = TASKS[spec.parent.name]
    done = CliRunner().invoke(app, ["run", str(spec), task, "--json", "--store", "memory"])
    assert done.exit_code == 0, done.output
    assert '"stop_reason": "completed"' in done.stdout
