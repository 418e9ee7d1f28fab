"""The orchestrator-worker pattern: planning, the subtask DAG, failures, aggregation."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

import pytest
from pydantic import BaseModel

from podium import (
    Agent,
    ConfigError,
    Event,
    EventKind,
    MemoryStore,
    ModelRequest,
    Orchestrator,
    Plan,
    ProviderError,
    Result,
    StopReason,
    Subtask,
    ToolContext,
    tool,
)
from podium.patterns._plan import plan_payload, plan_problems
from podium.testing import Price, ScriptedModel, call


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


def worker(name: str, *answers: str, latency: float = 0.0) -> Agent:
    return Agent(
        name, role=f"does {name} work", model=ScriptedModel(list(answers), latency=latency)
    )


def model_of(agent: Agent) -> ScriptedModel:
    model = agent.model
    assert isinstance(model, ScriptedModel)
    return model


async def run_team(team: Orchestrator, **kwargs: Any) -> tuple[Result, list[Event], MemoryStore]:
    store = MemoryStore()
    result = await team.run("write a report on tide pools", store=store, **kwargs)
    return result, await store.events(result.run_id), store


def by_kind(events: list[Event], kind: EventKind) -> list[Event]:
    return [e for e in events if e.kind is kind]


def subtask_events(events: list[Event], kind: EventKind) -> dict[str, Event]:
    return {e.payload["id"]: e for e in by_kind(events, kind)}


def max_running(events: list[Event]) -> int:
    """Most subtasks between their start and end at once, in log order."""
    running = peak = 0
    for e in events:
        if e.kind is EventKind.SUBTASK_START:
            running += 1
            peak = max(peak, running)
        elif e.kind is EventKind.SUBTASK_END:
            running -= 1
    return peak


async def test_independent_subtasks_run_in_parallel() -> None:
    workers = [worker(f"w{i}", f"out{i}", latency=0.2) for i in range(1, 6)]
    plan = plan_json(*((f"t{i}", f"w{i}", ()) for i in range(1, 6)))
    planner = Agent("planner", model=ScriptedModel([plan, "final answer"]))
    team = Orchestrator(planner=planner, workers=workers)

    started = time.perf_counter()
    result, events, _ = await run_team(team)
    elapsed = time.perf_counter() - started

    assert result.stop_reason is StopReason.COMPLETED
    assert result.output == "final answer"
    assert elapsed < 0.8  # five 0.2 s calls in sequence would take 1 s
    starts = subtask_events(events, EventKind.SUBTASK_START)
    ends = subtask_events(events, EventKind.SUBTASK_END)
    assert set(starts) == set(ends) == {"t1", "t2", "t3", "t4", "t5"}
    # Every subtask started before any ended, in the log and on the clock.
    assert max(s.seq for s in starts.values()) < min(e.seq for e in ends.values())
    assert max(e.started_at for e in ends.values()) < min(e.ended_at for e in ends.values())
    assert all(e.latency_s >= 0.2 for e in ends.values())
    assert max_running(events) == 5


async def test_dependent_subtask_waits_and_sees_dependency_results() -> None:
    w1 = worker("w1", "ALPHA: tide pools hold anemones")
    w2 = worker("w2", "BETA: tides come twice a day", latency=0.05)
    w3 = worker("w3", "combined")
    plan = plan_json(("t1", "w1", ()), ("t2", "w2", ()), ("t3", "w3", ("t1", "t2")))
    team = Orchestrator(
        planner=Agent("planner", model=ScriptedModel([plan, "done"])), workers=[w1, w2, w3]
    )

    result, events, _ = await run_team(team)

    assert result.ok
    starts = subtask_events(events, EventKind.SUBTASK_START)
    ends = subtask_events(events, EventKind.SUBTASK_END)
    assert starts["t3"].seq > ends["t1"].seq
    assert starts["t3"].seq > ends["t2"].seq
    assert starts["t3"].started_at >= ends["t2"].ended_at
    assert starts["t3"].payload["depends_on"] == ["t1", "t2"]
    (request,) = model_of(w3).requests
    prompt = request.messages[-1].content
    assert "ALPHA: tide pools hold anemones" in prompt
    assert "BETA: tides come twice a day" in prompt
    # The independent workers saw no other results.
    assert "BETA" not in model_of(w1).requests[0].messages[-1].content


@pytest.mark.parametrize("where", ["team", "run"])
async def test_max_concurrency_bounds_running_subtasks(where: str) -> None:
    workers = [worker(f"w{i}", f"out{i}", latency=0.1) for i in range(1, 5)]
    plan = plan_json(*((f"t{i}", f"w{i}", ()) for i in range(1, 5)))
    planner = Agent("planner", model=ScriptedModel([plan, "final"]))
    if where == "team":
        result, events, _ = await run_team(
            Orchestrator(planner=planner, workers=workers, max_concurrency=2)
        )
    else:
        result, events, _ = await run_team(
            Orchestrator(planner=planner, workers=workers), max_concurrency=2
        )

    assert result.ok
    assert len(by_kind(events, EventKind.SUBTASK_END)) == 4
    assert max_running(events) == 2


@pytest.mark.parametrize("subtasks", [2, 3])
async def test_max_concurrency_at_and_just_above_the_plans_size(subtasks: int) -> None:
    workers = [worker(f"w{i}", f"out{i}", latency=0.1) for i in range(1, subtasks + 1)]
    plan = plan_json(*((f"t{i}", f"w{i}", ()) for i in range(1, subtasks + 1)))
    planner = Agent("planner", model=ScriptedModel([plan, "final"]))
    result, events, _ = await run_team(
        Orchestrator(planner=planner, workers=workers, max_concurrency=2)
    )
    assert result.ok
    assert len(by_kind(events, EventKind.SUBTASK_END)) == subtasks
    assert max_running(events) == 2


async def test_invalid_plan_is_corrected_once() -> None:
    typo = plan_json(("t1", "reseacher", ()), ("t2", "writer", ("t1",)))
    fixed = plan_json(("t1", "researcher", ()), ("t2", "writer", ("t1",)))
    planner_model = ScriptedModel([typo, fixed, "final"])
    researcher = worker("researcher", "facts")
    writer = worker("writer", "draft")
    team = Orchestrator(planner=Agent("planner", model=planner_model), workers=[researcher, writer])

    result, events, _ = await run_team(team)

    assert result.stop_reason is StopReason.COMPLETED
    assert result.output == "final"
    correction = planner_model.requests[1].messages[-1]
    assert correction.role == "user"
    assert "'reseacher', which is not a worker" in correction.content
    assert "did you mean 'researcher'?" in correction.content
    (plan_event,) = by_kind(events, EventKind.PLAN)
    assert [s["assignee"] for s in plan_event.payload["plan"]["subtasks"]] == [
        "researcher",
        "writer",
    ]
    assert len(model_of(researcher).requests) == len(model_of(writer).requests) == 1


async def test_plan_invalid_twice_stops_with_error() -> None:
    bad = plan_json(("t1", "nobody", ()))
    planner_model = ScriptedModel([bad, bad])
    researcher = worker("researcher", "facts")
    team = Orchestrator(planner=Agent("planner", model=planner_model), workers=[researcher])

    result, events, store = await run_team(team)

    assert result.stop_reason is StopReason.ERROR
    assert result.output is None
    assert result.error is not None
    assert "no valid plan" in result.error
    assert "'nobody', which is not a worker" in result.error
    assert model_of(researcher).requests == []
    assert by_kind(events, EventKind.PLAN) == []
    assert by_kind(events, EventKind.SUBTASK_START) == []
    run = await store.get_run(result.run_id)
    assert run is not None and run.status == "error"


def sub(id_: str, assignee: str = "w", *deps: str) -> Subtask:
    return Subtask(id=id_, assignee=assignee, instructions="x", depends_on=list(deps))


@pytest.mark.parametrize(
    ("subtasks", "expected"),
    [
        ([sub("t1"), sub("t2", "w", "t1")], []),
        ([], ["the plan has no subtasks"]),
        (
            [sub("t1", "w", "t2"), sub("t2", "w", "t1")],
            ["the dependencies form a cycle: t1 -> t2 -> t1"],
        ),
        (
            [sub("t1", "w", "t2"), sub("t2", "w", "t3"), sub("t3", "w", "t1")],
            ["the dependencies form a cycle: t1 -> t2 -> t3 -> t1"],
        ),
        ([sub("t1", "w", "t9")], ["subtask 't1' depends on 't9', which is not in the plan"]),
        ([sub("t1", "w", "t1")], ["subtask 't1' depends on itself"]),
        ([sub("t1"), sub("t1")], ["subtask id 't1' is used more than once"]),
        (
            [sub("a/b]")],
            ["subtask id 'a/b]' must be 1-40 letters, digits, '-', '_' or '.' (e.g. t1)"],
        ),
        ([sub("t1"), sub("t2"), sub("t3"), sub("t4")], ["the plan has 4 subtasks; at most 3"]),
        (
            [sub("t1", "writr")],
            [
                "subtask 't1' is assigned to 'writr', which is not a worker "
                "(did you mean 'writer'?); workers: w, writer"
            ],
        ),
    ],
    ids=[
        "valid",
        "empty",
        "cycle2",
        "cycle3",
        "missing-dep",
        "self-dep",
        "duplicate",
        "bad-id",
        "too-many",
        "unknown-assignee",
    ],
)
def test_plan_problems(subtasks: list[Subtask], expected: list[str]) -> None:
    assert plan_problems(Plan(subtasks=subtasks), ["w", "writer"], max_subtasks=3) == expected


def test_plan_event_payload_is_the_plans_model_dump() -> None:
    plan = Plan(subtasks=[sub("t1"), sub("t2", "writer", "t1"), sub("t3", "w", "t1", "t2")])
    payload = plan_payload(plan)
    assert payload == plan.model_dump()
    # a field added to Subtask must be added to the payload too
    assert [set(s) for s in payload["subtasks"]] == [set(Subtask.model_fields)] * 3
    payload["subtasks"][1]["depends_on"].append("t9")  # a copy, not the plan's own list
    assert plan.subtasks[1].depends_on == ["t1"]


async def test_failing_worker_stops_run_and_cancels_running_subtasks() -> None:
    def fail(request: ModelRequest) -> str:
        raise ProviderError("service unavailable", provider="scripted", model="broken", status=503)

    slow = worker("slow", "never seen", latency=2.0)
    broken = Agent("broken", role="fails", model=ScriptedModel(fn=fail, name="broken"))
    after = worker("after", "never reached")
    plan = plan_json(("t1", "slow", ()), ("t2", "broken", ()), ("t3", "after", ("t1",)))
    team = Orchestrator(
        planner=Agent("planner", model=ScriptedModel([plan, "final"])),
        workers=[slow, broken, after],
    )

    started = time.perf_counter()
    result, events, store = await run_team(team)

    assert time.perf_counter() - started < 1.0  # the slow subtask did not run to its end
    assert result.stop_reason is StopReason.PROVIDER_FAILED  # every provider option failed
    assert result.output is None
    assert result.error is not None and "service unavailable" in result.error
    (error,) = by_kind(events, EventKind.ERROR)
    assert (error.path, error.agent) == ("root/task[t2]/model#0", "broken")
    assert error.payload["code"] == "provider"
    assert error.payload["status"] == 503
    # The slow subtask started but was cancelled: it never ended, never answered.
    assert set(subtask_events(events, EventKind.SUBTASK_START)) == {"t1", "t2"}
    assert subtask_events(events, EventKind.SUBTASK_END) == {}
    assert not [e for e in by_kind(events, EventKind.MODEL_RESPONSE) if e.agent == "slow"]
    slow_end = next(e for e in by_kind(events, EventKind.AGENT_END) if e.agent == "slow")
    assert slow_end.payload["status"] == "cancelled"
    assert model_of(after).requests == []
    assert events[-1].kind is EventKind.RUN_END
    assert events[-1].payload["stop_reason"] == "provider_failed"
    assert [e.seq for e in events] == list(range(len(events)))
    run = await store.get_run(result.run_id)
    assert run is not None
    assert run.status == "provider_failed"
    assert run.ended_at is not None
    assert run.error == result.error
    assert run.output is None


async def test_aggregator_gets_every_result_and_usage_adds_up() -> None:
    price = Price(input=3.0, output=15.0)
    planner_model = ScriptedModel([plan_json(("t1", "w1", ()), ("t2", "w2", ("t1",)))], price=price)
    w1 = Agent("w1", model=ScriptedModel(["RESULT-ONE"], price=price))
    w2 = Agent("w2", model=ScriptedModel(["RESULT-TWO"], price=price))
    agg_model = ScriptedModel(["the summary"], price=price)
    team = Orchestrator(
        planner=Agent("planner", model=planner_model),
        workers=[w1, w2],
        aggregator=Agent("editor", model=agg_model),
    )

    result, _, store = await run_team(team)

    assert result.ok
    assert result.output == "the summary"
    assert result.offline is True
    assert len(planner_model.requests) == 1  # the aggregator, not the planner, answered
    (request,) = agg_model.requests
    prompt = request.messages[-1].content
    assert "write a report on tide pools" in prompt
    assert "RESULT-ONE" in prompt and "RESULT-TWO" in prompt

    usage = result.usage
    assert set(usage.per_agent) == {"planner", "w1", "w2", "editor"}
    agents = usage.per_agent.values()
    assert sum(a.model_calls for a in agents) == usage.total.model_calls == 4
    assert sum(a.input_tokens for a in agents) == usage.total.input_tokens > 0
    assert sum(a.output_tokens for a in agents) == usage.total.output_tokens > 0
    assert sum(a.cost_usd for a in agents) == pytest.approx(usage.total.cost_usd)
    assert usage.total.cost_usd > 0
    run = await store.get_run(result.run_id)
    assert run is not None and run.offline is True and run.usage == usage.to_dict()


async def test_demo_team_runs_offline_with_writer_last() -> None:
    searched: list[str] = []

    @tool
    def search(query: str) -> str:
        """Search the web."""
        searched.append(query)
        return f"3 sources about {query}"

    researcher = Agent("researcher", role="finds sources", tools=[search], model=ScriptedModel())
    analyst = Agent("analyst", role="analyzes the findings", model=ScriptedModel())
    writer = Agent("writer", role="writes the final report", model=ScriptedModel())
    team = Orchestrator(
        planner=Agent("lead", role="plans the work", model=ScriptedModel()),
        workers=[researcher, analyst, writer],
    )

    result, events, _ = await run_team(team)

    assert result.stop_reason is StopReason.COMPLETED
    assert result.offline is True
    assert isinstance(result.output, str) and result.output.startswith("[scripted]")
    assert len(searched) == 1
    (plan_event,) = by_kind(events, EventKind.PLAN)
    subtasks = {s["assignee"]: s for s in plan_event.payload["plan"]["subtasks"]}
    assert set(subtasks) == {"researcher", "analyst", "writer"}
    assert sorted(subtasks["writer"]["depends_on"]) == sorted(
        [subtasks["researcher"]["id"], subtasks["analyst"]["id"]]
    )
    assert subtasks["researcher"]["depends_on"] == subtasks["analyst"]["depends_on"] == []
    ends = subtask_events(events, EventKind.SUBTASK_END)
    writer_start = subtask_events(events, EventKind.SUBTASK_START)[subtasks["writer"]["id"]]
    assert all(writer_start.seq > ends[subtasks[n]["id"]].seq for n in ("researcher", "analyst"))


class SlowStore(MemoryStore):
    """A store whose writes take longer for bigger batches (like a remote database)."""

    async def append(self, events: Sequence[Event]) -> None:
        await asyncio.sleep(0.005 * len(events))
        await super().append(events)


async def test_a_flush_whose_events_another_flush_took_waits_for_that_write() -> None:
    # two workers answer in the same loop iteration: the first flush takes both
    # steps' events; the second must not return before they are stored
    store = OrderedSlowStore()
    gaps: list[list[int]] = []

    @tool
    async def check(ctx: ToolContext) -> str:
        """Look at the run log."""
        seqs = [e.seq for e in await store.events(ctx.run_id)]
        gaps.append(sorted(set(range(max(seqs) + 1)) - set(seqs)))
        return "checked"

    def checker(name: str) -> Agent:
        return Agent(
            name, tools=[check], model=ScriptedModel([call("check"), f"{name} done"], latency=0.02)
        )

    plan = plan_json(("t1", "a", ()), ("t2", "b", ()))
    team = Orchestrator(
        planner=Agent("planner", model=ScriptedModel([plan, "final"])),
        workers=[checker("a"), checker("b")],
    )
    result = await team.run("go", store=store)
    assert result.ok
    assert gaps == [[], []]


class OrderedSlowStore(MemoryStore):
    """Slow writes that complete in call order (the promise SqliteStore makes)."""

    ordered_appends = True

    def __init__(self) -> None:
        super().__init__()
        self._turn = asyncio.Lock()  # FIFO: appends finish in the order they were called

    async def append(self, events: Sequence[Event]) -> None:
        async with self._turn:
            await asyncio.sleep(0.005 * len(events))
            await super().append(events)


@pytest.mark.parametrize("store_type", [SlowStore, OrderedSlowStore])
async def test_steps_are_durable_before_use_with_parallel_workers(
    store_type: type[MemoryStore],
) -> None:
    store = store_type()
    gaps: list[list[int]] = []

    @tool
    async def check(ctx: ToolContext) -> str:
        """Look at the run log."""
        seqs = [e.seq for e in await store.events(ctx.run_id)]
        gaps.append(sorted(set(range(max(seqs) + 1)) - set(seqs)))
        return "checked"

    fast = worker("fast", "fast done", latency=0.01)
    tooly = Agent(
        "tooly", tools=[check], model=ScriptedModel([call("check"), "tooly done"], latency=0.03)
    )
    plan = plan_json(("t1", "fast", ()), ("t2", "tooly", ()))
    team = Orchestrator(
        planner=Agent("planner", model=ScriptedModel([plan, "final"])), workers=[fast, tooly]
    )

    result = await team.run("go", store=store)

    assert result.ok
    assert gaps == [[]]  # when the tool ran, every earlier step was already stored
    events = await store.events(result.run_id)
    assert [e.seq for e in events] == list(range(len(events)))


class Facts(BaseModel):
    facts: list[str]


class Report(BaseModel):
    title: str
    body: str


async def test_structured_outputs_of_workers_and_team() -> None:
    researcher_model = ScriptedModel(["some facts, not JSON", '{"facts": ["tides", "crabs"]}'])
    researcher = Agent("researcher", model=researcher_model, output_type=Facts)
    writer = worker("writer", "a draft")
    plan = plan_json(("t1", "researcher", ()), ("t2", "writer", ("t1",)))
    final = '{"title": "Tide pools", "body": "crabs"}'
    team = Orchestrator(
        planner=Agent("planner", model=ScriptedModel([plan, final])),
        workers=[researcher, writer],
        output_type=Report,
    )

    result, events, store = await run_team(team)

    assert result.ok
    assert result.output == Report(title="Tide pools", body="crabs")
    assert "does not match the Facts schema" in researcher_model.requests[1].messages[-1].content
    ends = subtask_events(events, EventKind.SUBTASK_END)
    assert ends["t1"].payload["output"] == '{"facts":["tides","crabs"]}'
    assert '{"facts":["tides","crabs"]}' in model_of(writer).requests[0].messages[-1].content
    run = await store.get_run(result.run_id)
    assert run is not None and run.output == '{"title":"Tide pools","body":"crabs"}'


async def test_max_concurrency_below_one_is_refused_not_a_hang() -> None:
    team = Orchestrator(planner=Agent("planner", model=ScriptedModel()), workers=[worker("w1")])
    with pytest.raises(ConfigError, match="max_concurrency must be at least 1"):
        await asyncio.wait_for(team.run("go", store=MemoryStore(), max_concurrency=0), 2)
    with pytest.raises(ConfigError, match="max_concurrency must be at least 1"):
        Orchestrator(planner=Agent("planner"), workers=[worker("w1")], max_concurrency=0)
