"""The plan a planner returns: a DAG of subtasks, and its validation."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from pydantic import BaseModel, Field

from podium.registry import suggest

__all__ = ["Plan", "Subtask", "plan_payload", "plan_problems"]


class Subtask(BaseModel):
    """One unit of work for one worker."""

    id: str = Field(description="short unique id, e.g. t1")
    assignee: str = Field(description="name of the worker that does it")
    instructions: str = Field(description="what the worker must do, self-contained")
    depends_on: list[str] = Field(
        default_factory=list, description="ids of subtasks whose results this one needs"
    )


class Plan(BaseModel):
    """Subtasks with dependencies; independent ones run in parallel."""

    subtasks: list[Subtask]


def plan_payload(plan: Plan) -> dict[str, Any]:
    """``plan.model_dump()``, built directly: the plan event of every orchestrated run.

    tests/test_orchestrator.py checks that both agree.
    """
    return {
        "subtasks": [
            {
                "id": s.id,
                "assignee": s.assignee,
                "instructions": s.instructions,
                "depends_on": list(s.depends_on),
            }
            for s in plan.subtasks
        ]
    }


def _cycle(plan: Plan) -> list[str] | None:
    deps = {s.id: [d for d in s.depends_on if d != s.id] for s in plan.subtasks}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in deps.get(node, []):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if state.get(nxt) is None and nxt in deps:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in deps:
        if state.get(node) is None:
            found = visit(node)
            if found:
                return found
    return None


_ID = re.compile(r"[A-Za-z0-9_.\-]{1,40}")


def plan_problems(plan: Plan, workers: Collection[str], max_subtasks: int = 10_000) -> list[str]:
    """Everything wrong with `plan`, as sentences the planner can act on."""
    problems: list[str] = []
    if not plan.subtasks:
        problems.append("the plan has no subtasks")
    if len(plan.subtasks) > max_subtasks:
        problems.append(f"the plan has {len(plan.subtasks)} subtasks; at most {max_subtasks}")
    ids = [s.id for s in plan.subtasks]
    known = set(ids)
    if len(known) < len(ids):
        for dup in sorted({i for i in ids if ids.count(i) > 1}):
            problems.append(f"subtask id {dup!r} is used more than once")
    edges = False
    for s in plan.subtasks:
        if not _ID.fullmatch(s.id):  # ids name steps: root/task[ID]
            problems.append(
                f"subtask id {s.id!r} must be 1-40 letters, digits, '-', '_' or '.' (e.g. t1)"
            )
        if s.assignee not in workers:
            problems.append(
                f"subtask {s.id!r} is assigned to {s.assignee!r}, which is not a worker"
                f"{suggest(s.assignee, workers)}; workers: {', '.join(workers)}"
            )
        for d in s.depends_on:
            edges = True
            if d == s.id:
                problems.append(f"subtask {s.id!r} depends on itself")
            elif d not in known:
                problems.append(f"subtask {s.id!r} depends on {d!r}, which is not in the plan")
    cycle = _cycle(plan) if edges else None  # no dependencies, no cycle
    if cycle:
        problems.append("the dependencies form a cycle: " + " -> ".join(cycle))
    return problems
