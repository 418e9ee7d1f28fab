"""Verification: reviewers refute, workers retry with feedback, runs stop on failure."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from podium import (
    Agent,
    Check,
    EventKind,
    MemoryStore,
    Orchestrator,
    Pipeline,
    StepContext,
    StopReason,
    Verdict,
    tool,
)
from podium.guards import (
    CommandVerifier,
    FileExistsVerifier,
    JsonSchemaVerifier,
    PredicateVerifier,
    failing_evidence,
)
from podium.memory import EntryStatus
from podium.patterns import Subtask
from podium.testing import ScriptedModel, call

PLAN = json.dumps(
    {
        "subtasks": [
            {"id": "t1", "assignee": "counter", "instructions": "How many legs has a spider?"},
            {"id": "t2", "assignee": "consumer", "instructions": "Use it", "depends_on": ["t1"]},
        ]
    }
)


def no_wrong_legs(sub: Subtask, output: str) -> Verdict:
    if "6 legs" in output:
        return Verdict(passed=False, reason="spiders have 8 legs, not 6")
    return Verdict(passed=True, reason="correct")


async def test_refuted_result_is_retried_with_feedback_and_then_accepted() -> None:
    counter = Agent("counter", model=ScriptedModel(["a spider has 6 legs", "a spider has 8 legs"]))
    consumer = Agent("consumer", model=ScriptedModel(["noted"]))
    lead = Agent("lead", model=ScriptedModel([PLAN, "done"]))
    store = MemoryStore()
    result = await Orchestrator(
        planner=lead, workers=[counter, consumer], reviewer=no_wrong_legs
    ).run("x", store=store)
    assert result.ok
    retry_prompt = counter.model.requests[1].messages[-1].content  # type: ignore[union-attr]
    assert "spiders have 8 legs, not 6" in retry_prompt
    consumer_prompt = consumer.model.requests[0].messages[-1].content  # type: ignore[union-attr]
    assert "8 legs" in consumer_prompt and "6 legs" not in consumer_prompt
    verdicts = [
        (e.payload["key"], e.payload["passed"])
        for e in await store.events(result.run_id)
        if e.kind is EventKind.VERIFICATION
    ]
    assert verdicts == [("task.t1", False), ("task.t1", True), ("task.t2", True)]


async def test_worker_that_keeps_failing_stops_with_verification_failed() -> None:
    counter = Agent("counter", model=ScriptedModel(fn=lambda r: "a spider has 6 legs"))
    consumer = Agent("consumer", model=ScriptedModel(["never"]))
    lead = Agent("lead", model=ScriptedModel([PLAN]))
    store = MemoryStore()
    result = await Orchestrator(
        planner=lead, workers=[counter, consumer], reviewer=no_wrong_legs, max_review_retries=2
    ).run("x", store=store)
    assert result.stop_reason is StopReason.VERIFICATION_FAILED
    assert "counter" in (result.error or "") and "root/task[t1]#2" in (result.error or "")
    assert consumer.model.requests == []  # type: ignore[union-attr]
    events = await store.events(result.run_id)
    (stop,) = [e for e in events if e.kind is EventKind.GUARD_STOP]
    assert stop.payload["key"] == "task.t1"
    assert stop.payload["lineage"][0]["author"] == "counter"
    assert len(counter.model.requests) == 3  # type: ignore[union-attr]


class FactChecker:
    """A function reviewer as a pipeline stage: marks the entry verified or refuted."""

    name = "fact_checker"
    role = "checks facts"

    async def invoke(self, task: object, ctx: StepContext) -> str:
        entry = ctx.state.blackboard.get("fact")
        assert entry is not None
        ok = "cheese" not in str(entry.value)
        status = EntryStatus.VERIFIED if ok else EntryStatus.REFUTED
        ctx.set_status("fact", status, reason="checked against the almanac")
        return str(status)


async def test_verified_only_reader_never_sees_refuted_entries() -> None:
    for claim, visible in (("the moon is cheese", False), ("the moon orbits earth", True)):
        writer = Agent("writer", writes=["fact"], model=ScriptedModel([claim]))
        reader = Agent(
            "reader", reads=["fact"], reads_verified_only=True, model=ScriptedModel(["read"])
        )
        store = MemoryStore()
        result = await Pipeline([writer, FactChecker(), reader]).run("x", store=store)
        assert result.ok
        prompt = reader.model.requests[0].messages[-1].content  # type: ignore[union-attr]
        assert (claim in prompt) is visible
        statuses = [
            e.payload["status"]
            for e in await store.events(result.run_id)
            if e.kind is EventKind.BLACKBOARD_STATUS
        ]
        assert statuses == ["verified" if visible else "refuted"]


async def test_reviewer_agent_saying_pass_against_failing_tool_evidence_is_flagged() -> None:
    @tool
    def run_tests() -> dict[str, object]:
        """Run the test suite."""
        return {"exit_code": 1, "output": "1 failed"}

    reviewer = Agent(
        "critic",
        tools=[run_tests],
        model=ScriptedModel(
            fn=lambda r: (
                call("run_tests")
                if not any(m.role == "tool" for m in r.messages)
                else '{"passed": true, "reason": "looks fine"}'
            )
        ),
    )
    coder = Agent("coder", model=ScriptedModel(fn=lambda r: "def f(): return 1"))
    plan = json.dumps({"subtasks": [{"id": "t1", "assignee": "coder", "instructions": "code"}]})
    lead = Agent("lead", model=ScriptedModel([plan]))
    store = MemoryStore()
    result = await Orchestrator(
        planner=lead, workers=[coder], reviewer=reviewer, max_review_retries=0
    ).run("x", store=store)
    assert result.stop_reason is StopReason.VERIFICATION_FAILED
    events = await store.events(result.run_id)
    mismatch = [
        e
        for e in events
        if e.kind is EventKind.NOTICE and e.payload["code"] == "verification_mismatch"
    ]
    assert mismatch and "exit_code was 1" in mismatch[0].payload["message"]


async def test_run_level_required_checks(tmp_path: Path) -> None:
    agent = Agent("a", writes=["report"], model=ScriptedModel(fn=lambda r: '{"title": "T"}'))
    schema = {"type": "object", "required": ["title", "body"]}
    result = await agent.run(
        "x", store=MemoryStore(), checks=[Check(JsonSchemaVerifier(schema), target="report")]
    )
    assert result.stop_reason is StopReason.VERIFICATION_FAILED
    assert "'body' is a required property" in (result.error or "")

    missing = await agent.run(
        "x",
        store=MemoryStore(),
        checks=[Check(PredicateVerifier(lambda v: True), target="never_written")],
    )
    assert missing.stop_reason is StopReason.VERIFICATION_FAILED
    assert "could not run" in (missing.error or "")

    ok = await agent.run(
        "x",
        store=MemoryStore(),
        checks=[
            Check(
                CommandVerifier(
                    f'{sys.executable} -c "import sys,json; '
                    f"assert json.load(sys.stdin)['title']=='T'\""
                )
            ),
            Check(FileExistsVerifier(str(tmp_path / "nope")), required=False),
        ],
    )
    assert ok.ok

    failing = await agent.run(
        "x",
        store=MemoryStore(),
        checks=[Check(CommandVerifier(f"{sys.executable} -c 'raise SystemExit(3)'"))],
    )
    assert failing.stop_reason is StopReason.VERIFICATION_FAILED
    assert "exited 3" in (failing.error or "")


def test_failing_evidence_shapes() -> None:
    assert failing_evidence({"exit_code": 2}) == "exit_code was 2"
    assert failing_evidence({"passed": False}) == "passed was false"
    assert failing_evidence({"exit_code": 0, "ok": True}) is None
    assert failing_evidence("all good") is None
    assert failing_evidence(RuntimeError("boom")) == "raised RuntimeError: boom"


async def test_verified_only_consumer_gets_no_unreviewed_subtask_result() -> None:
    def team(reviewer: object) -> tuple[Orchestrator, ScriptedModel, ScriptedModel]:
        counter = Agent("counter", model=ScriptedModel(["8 legs, UNREVIEWED"]))
        consumer_model = ScriptedModel(["used"])
        consumer = Agent("consumer", reads_verified_only=True, model=consumer_model)
        lead_model = ScriptedModel([PLAN, "final"])
        lead = Agent("lead", reads_verified_only=True, model=lead_model)
        return (
            Orchestrator(planner=lead, workers=[counter, consumer], reviewer=reviewer),  # type: ignore[arg-type]
            consumer_model,
            lead_model,
        )

    unreviewed, consumer_model, lead_model = team(None)
    assert (await unreviewed.run("x", store=MemoryStore())).ok
    assert "UNREVIEWED" not in consumer_model.requests[0].messages[-1].content
    assert "UNREVIEWED" not in lead_model.requests[-1].messages[-1].content  # the aggregation

    reviewed, consumer_model, lead_model = team(no_wrong_legs)
    assert (await reviewed.run("x", store=MemoryStore())).ok
    assert "UNREVIEWED" in consumer_model.requests[0].messages[-1].content  # verified: shown
    assert "UNREVIEWED" in lead_model.requests[-1].messages[-1].content


async def test_verified_only_pipeline_stage_does_not_get_the_unchecked_previous_output() -> None:
    writer = Agent("writer", model=ScriptedModel(["UNCHECKED draft"]))
    reader_model = ScriptedModel(["read"])
    reader = Agent("reader", reads_verified_only=True, model=reader_model)
    assert (await Pipeline([writer, reader]).run("x", store=MemoryStore())).ok
    assert "UNCHECKED" not in reader_model.requests[0].messages[-1].content
