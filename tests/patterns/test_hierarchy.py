"""Hierarchy: teams as workers or stages of other teams."""

from __future__ import annotations

import json
from collections.abc import Sequence

from pydantic import BaseModel

from podium import Agent, Limits, MemoryStore, Orchestrator, StopReason
from podium.testing import ScriptedModel


def plan_json(*subtasks: tuple[str, str, Sequence[str]]) -> str:
    """A planner answer: (id, assignee, depends_on) per subtask."""
    return json.dumps(
        {
            "subtasks": [
                {"id": i, "assignee": a, "instructions": f"do {i}", "depends_on": list(d)}
                for i, a, d in subtasks
            ]
        }
    )


def prompt_of(agent: Agent, call: int = 0) -> str:
    model = agent.model
    assert isinstance(model, ScriptedModel)
    return model.requests[call].messages[-1].content


async def test_a_nested_orchestrators_results_do_not_overwrite_the_outer_ones() -> None:
    """Both orchestrators number their subtasks t1, t2, ...: the inner team's t1 must
    not replace the outer t1 on the blackboard, where a verified-only consumer and the
    run's partial results look for it."""
    leaf = Agent("leaf", model=ScriptedModel(["inner leaf result"]))
    inner = Orchestrator(
        planner=Agent("inner_lead", model=ScriptedModel([plan_json(("t1", "leaf", ())), "inner"])),
        workers=[leaf],
        name="inner",
        role="a sub-team",
    )
    fact = Agent("fact", model=ScriptedModel(["outer fact"]))
    writer = Agent("writer", reads_verified_only=True, model=ScriptedModel(["report"]))
    plan = plan_json(("t1", "fact", ()), ("t2", "inner", ()), ("t3", "writer", ("t1", "t2")))
    outer = Orchestrator(
        planner=Agent("lead", model=ScriptedModel([plan, "final"])),
        workers=[fact, inner, writer],
        reviewer=lambda sub, output: True,
    )
    result = await outer.run("go", store=MemoryStore())
    assert result.ok
    assert "outer fact" in prompt_of(writer)  # t1 was verified: the writer gets it
    assert result.partial["task.t1"] == "outer fact"
    assert result.partial["task[t2]/task.t1"] == "inner leaf result"


async def test_a_nested_orchestrator_out_of_replans_is_routed_around_by_the_outer_one() -> None:
    """The inner team used up its own re-plans; the outer planner has not: it re-plans."""

    class Count(BaseModel):
        n: int

    broken = Agent("broken", output_type=Count, model=ScriptedModel(fn=lambda r: "not json"))
    inner_plans = [
        plan_json(("t1", "broken", ())),
        plan_json(("t1", "broken", ()), ("t2", "broken", ())),
    ]
    inner = Orchestrator(
        planner=Agent("inner_lead", model=ScriptedModel(inner_plans)),
        workers=[broken],
        name="inner",
        role="a sub-team",
    )
    backup = Agent("backup", model=ScriptedModel(["backup result"]))
    plans = [plan_json(("t1", "inner", ())), plan_json(("t1", "backup", ()))]
    outer = Orchestrator(
        planner=Agent("lead", model=ScriptedModel([*plans, "final"])),
        workers=[inner, backup],
        name="outer",
    )
    result = await outer.run("go", store=MemoryStore(), limits=Limits(max_replans=1))
    assert result.stop_reason is StopReason.COMPLETED and result.output == "final"
    assert result.partial["task.t1"] == "backup result"
