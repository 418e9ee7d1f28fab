"""Helpers for the observability tests: the CLI runner and scripted, priced teams."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from podium import Agent, Orchestrator, SqliteStore
from podium.cli import app
from podium.testing import Price, ScriptedModel

runner = CliRunner()


def cli(*args: str) -> Any:
    """Invoke the podium CLI; fails the test on a non-zero exit."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def cli_json(*args: str) -> Any:
    return json.loads(cli(*args, "--json").stdout)


def plan_json(*subtasks: tuple[str, str, str, Sequence[str]]) -> str:
    """A planner answer: (id, assignee, instructions, depends_on) per subtask."""
    return json.dumps(
        {
            "subtasks": [
                {"id": i, "assignee": a, "instructions": text, "depends_on": list(d)}
                for i, a, text, d in subtasks
            ]
        }
    )


PRICE = Price(input=3.0, output=15.0)


def priced_team(script: dict[str, list[Any]], workers: Sequence[str], **kw: Any) -> Orchestrator:
    """An orchestrator whose agents share one priced scripted model (per-agent scripts)."""
    model = ScriptedModel(script, name="scripted:priced", price=PRICE, **kw)
    return Orchestrator(
        planner=Agent("lead", role="plans", model=model),
        workers=[Agent(w, role=f"{w} work", model=model) for w in workers],
    )


def run_in(db: Path, team: Any, task: str, **kw: Any) -> Any:
    """Run `team` on `task` with the SQLite store at `db` (from a sync test or thread)."""

    async def go() -> Any:
        store = SqliteStore(str(db))
        try:
            return await team.run(task, store=store, **kw)
        finally:
            await store.close()

    return asyncio.run(go())
