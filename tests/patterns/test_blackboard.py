"""The blackboard: provenance, declared writes, versions, compare-and-set."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from podium import Agent, BlackboardConflict, BlackboardError, EventKind, MemoryStore, StopReason
from podium.memory import Blackboard, EntryStatus
from podium.patterns import Pipeline
from podium.testing import ScriptedModel


def test_entry_derived_from_two_others_lists_both_as_sources() -> None:
    board = Blackboard()
    board.write("prices", "p", author="a", step="root/a")
    board.write("reviews", "r", author="b", step="root/b")
    entry = board.write("verdict", "v", author="c", step="root/c", sources=["prices", "reviews"])
    assert entry.sources == ("prices", "reviews")
    assert {e.key for e in board.lineage("verdict")} == {"verdict", "prices", "reviews"}


def test_undeclared_write_names_agent_and_key() -> None:
    board = Blackboard()
    with pytest.raises(BlackboardError, match=r"agent rogue may not write .*'secrets'"):
        board.write("secrets", "x", author="rogue", step="root", allowed=["notes"])


def test_rewrite_keeps_history_and_cas_detects_conflicts() -> None:
    board = Blackboard()
    board.write("k", "one", author="a", step="s1")
    board.write("k", "two", author="b", step="s2", expected_version=1)
    assert [e.value for e in board.history("k")] == ["one", "two"]
    with pytest.raises(BlackboardConflict, match="version 1, but it is now at version 2"):
        board.write("k", "three", author="c", step="s3", expected_version=1)
    assert board.get("k").value == "two"  # type: ignore[union-attr]
    board.set_status("k", EntryStatus.REFUTED, reason="wrong", by="critic")
    assert board.select(["k"], verified_only=True) == []


class Both(BaseModel):
    prices: str
    reviews: str


async def test_agents_write_declared_keys_with_sources_and_events() -> None:
    gather = Agent(
        "gather",
        writes=["prices", "reviews"],
        output_type=Both,
        model=ScriptedModel(['{"prices": "P", "reviews": "R"}']),
    )
    judge = Agent(
        "judge", reads=["prices", "reviews"], writes=["verdict"], model=ScriptedModel(["buy it"])
    )
    store = MemoryStore()
    result = await Pipeline([gather, judge]).run("choose", store=store)
    assert result.stop_reason is StopReason.COMPLETED
    writes = {
        e.payload["key"]: e
        for e in await store.events(result.run_id)
        if e.kind is EventKind.BLACKBOARD_WRITE
    }
    assert writes["verdict"].payload["sources"] == ["prices", "reviews"]
    assert writes["verdict"].agent == "judge"
    assert writes["prices"].payload["value"] == "P"
    prompt = judge.model.requests[0].messages[-1].content  # type: ignore[union-attr]
    assert "### prices (by gather, v1, unverified)" in prompt


async def test_orchestrator_subtask_results_land_on_the_blackboard() -> None:
    from podium import Orchestrator

    plan = (
        '{"subtasks": [{"id": "t1", "assignee": "w", "instructions": "a"}, '
        '{"id": "t2", "assignee": "w", "instructions": "b", "depends_on": ["t1"]}]}'
    )
    lead = Agent("lead", model=ScriptedModel([plan, "final"]))
    w = Agent("w", model=ScriptedModel(["r1", "r2"]))
    store = MemoryStore()
    result = await Orchestrator(planner=lead, workers=[w]).run("x", store=store)
    writes = [e for e in await store.events(result.run_id) if e.kind is EventKind.BLACKBOARD_WRITE]
    assert [(e.payload["key"], e.payload["sources"]) for e in writes] == [
        ("task.t1", []),
        ("task.t2", ["task.t1"]),
    ]
