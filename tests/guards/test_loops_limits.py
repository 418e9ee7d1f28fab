"""Loop detectors and structural limits each stop with their own typed reason."""

from __future__ import annotations

import itertools
import json

import pytest

from podium import (
    Agent,
    ConfigError,
    EventKind,
    GroupChat,
    Handoffs,
    Limits,
    LoopPolicy,
    MemoryStore,
    ModelRequest,
    Orchestrator,
    Pipeline,
    StopReason,
    tool,
)
from podium.testing import ScriptedModel, call


async def test_two_agents_handing_off_forever_stop_with_loop_after_the_cycle_count() -> None:
    ping = Agent(
        "ping",
        handoffs=["pong"],
        model=ScriptedModel(fn=lambda r: call("transfer_to_pong", reason="yours")),
    )
    pong = Agent(
        "pong",
        handoffs=["ping"],
        model=ScriptedModel(fn=lambda r: call("transfer_to_ping", reason="yours")),
    )
    store = MemoryStore()
    result = await Handoffs([ping, pong], max_handoffs=50).run(
        "x", store=store, loops=LoopPolicy(handoff_cycles=2)
    )
    assert result.stop_reason is StopReason.LOOP
    events = await store.events(result.run_id)
    handoffs = [e for e in events if e.kind is EventKind.HANDOFF]
    assert len(handoffs) == 4  # ping→pong→ping→pong→ping: round the cycle twice
    (loop,) = [e for e in events if e.kind is EventKind.LOOP_DETECTED]
    assert loop.payload["detector"] == "handoff_cycle"
    assert loop.payload["agents"] == ["ping", "pong"]


async def test_handoffs_that_only_pass_the_task_around_are_a_loop() -> None:
    turns = itertools.count()

    def worker(target: str):  # type: ignore[no-untyped-def]
        def answer(request: ModelRequest) -> object:
            n = next(turns)
            return "finished" if n >= 6 else call(f"transfer_to_{target}", reason=f"step {n}")

        return answer

    a = Agent("a", handoffs=["b"], writes=["notes"], model=ScriptedModel(fn=worker("b")))
    b = Agent("b", handoffs=["a"], writes=["notes"], model=ScriptedModel(fn=worker("a")))
    # agents that hand off write nothing (only a final answer is written) -> it is a loop
    result = await Handoffs([a, b]).run("x", store=MemoryStore())
    assert result.stop_reason is StopReason.LOOP


async def test_agent_repeating_the_same_tool_call_stops() -> None:
    calls: list[str] = []

    @tool
    def search(query: str) -> str:
        """Search."""
        calls.append(query)
        return "nothing new"

    agent = Agent(
        "stuck",
        tools=[search],
        max_turns=20,
        model=ScriptedModel(fn=lambda r: call("search", query="same")),
    )
    store = MemoryStore()
    result = await agent.run("x", store=store, loops=LoopPolicy(repeated_tool_calls=3))
    assert result.stop_reason is StopReason.LOOP
    assert len(calls) == 2  # the third identical call is stopped before it runs
    (loop,) = [e for e in await store.events(result.run_id) if e.kind is EventKind.LOOP_DETECTED]
    assert loop.payload["agents"] == ["stuck"] and len(loop.payload["steps"]) == 3


async def test_group_chat_of_agents_repeating_themselves_stops_well_before_max_rounds() -> None:
    def parrot(name: str) -> Agent:
        return Agent(
            name,
            model=ScriptedModel(
                fn=lambda r: "I agree that we should think about the plan carefully."
            ),
        )

    store = MemoryStore()
    result = await GroupChat([parrot("a"), parrot("b"), parrot("c")], max_rounds=50).run(
        "x", store=store
    )
    assert result.stop_reason is StopReason.LOOP
    messages = [e for e in await store.events(result.run_id) if e.kind is EventKind.CHAT_MESSAGE]
    assert len(messages) <= 5


async def test_nested_looping_chat_returns_control_to_its_parent() -> None:
    parrots = [
        Agent(n, model=ScriptedModel(fn=lambda r: "same words again and again"))
        for n in ("p1", "p2")
    ]
    chat = GroupChat(parrots, name="chatter", max_rounds=30)
    after = Agent("after", model=ScriptedModel(["wrapped up"]))
    store = MemoryStore()
    result = await Pipeline([chat, after]).run("x", store=store)
    assert result.stop_reason is StopReason.COMPLETED and result.output == "wrapped up"
    notices = [
        e.payload["code"] for e in await store.events(result.run_id) if e.kind is EventKind.NOTICE
    ]
    assert "loop_contained" in notices


async def test_turn_limit() -> None:
    @tool
    def step(n: int) -> str:
        """Step."""
        return "ok"

    agent = Agent(
        "busy",
        tools=[step],
        max_turns=50,
        model=ScriptedModel(fn=lambda r: call("step", n=len(r.messages))),
    )
    result = await agent.run("x", store=MemoryStore(), limits=Limits(max_turns=4))
    assert result.stop_reason is StopReason.MAX_TURNS
    assert result.usage.total.model_calls == 4


def plan_for(*names: str) -> str:
    return json.dumps(
        {
            "subtasks": [
                {"id": f"t{i}", "assignee": n, "instructions": "work"} for i, n in enumerate(names)
            ]
        }
    )


async def test_depth_limit() -> None:
    inner = Pipeline([Agent("leaf", model=ScriptedModel(["leaf done"]))], name="inner")
    middle = Pipeline([inner], name="middle")
    outer = Pipeline([middle], name="outer")
    ok = await outer.run("x", store=MemoryStore(), limits=Limits(max_depth=2))
    assert ok.ok
    deep = Pipeline([Agent("leaf", model=ScriptedModel(["leaf done"]))], name="inner")
    too_deep = Pipeline([Pipeline([deep], name="middle")], name="outer")
    result = await too_deep.run("x", store=MemoryStore(), limits=Limits(max_depth=1))
    assert result.stop_reason is StopReason.MAX_DEPTH


async def test_fanout_limit() -> None:
    lead = Agent("lead", model=ScriptedModel([plan_for(*["w"] * 6), "final"]))
    team = Orchestrator(planner=lead, workers=[Agent("w", model=ScriptedModel(["r"] * 6))])
    store = MemoryStore()
    result = await team.run("x", store=store, limits=Limits(max_fanout=5))
    assert result.stop_reason is StopReason.MAX_FANOUT
    assert not [e for e in await store.events(result.run_id) if e.kind is EventKind.SUBTASK_START]


async def test_replan_is_bounded_and_the_same_plan_again_is_a_loop() -> None:
    @tool
    def flaky(n: int) -> str:
        """Always fails to give a usable answer."""
        return "?"

    bad = Agent(
        "bad",
        tools=[flaky],
        max_turns=1,
        model=ScriptedModel(fn=lambda r: call("flaky", n=len(r.messages))),
    )
    good = Agent("good", model=ScriptedModel(["good result"] * 3))  # used by three runs
    lead = Agent("lead", model=ScriptedModel([plan_for("bad"), plan_for("good"), "final"]))
    store = MemoryStore()
    result = await Orchestrator(planner=lead, workers=[bad, good]).run("x", store=store)
    assert result.ok and result.output == "final"
    codes = [
        e.payload["code"] for e in await store.events(result.run_id) if e.kind is EventKind.NOTICE
    ]
    assert codes.count("replan") == 1

    same = Agent("lead", model=ScriptedModel([plan_for("bad"), plan_for("bad")]))
    looped = await Orchestrator(planner=same, workers=[bad, good]).run(
        "x", store=MemoryStore(), limits=Limits(max_replans=3)
    )
    assert looped.stop_reason is StopReason.LOOP

    lead2 = Agent("lead", model=ScriptedModel([plan_for("bad"), plan_for("bad", "good")]))
    capped = await Orchestrator(planner=lead2, workers=[bad, good]).run(
        "x", store=MemoryStore(), limits=Limits(max_replans=1)
    )
    assert capped.stop_reason is StopReason.MAX_REPLANS


async def test_a_setup_error_in_a_worker_is_the_runs_error_not_a_replan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    keyless = Agent("w", model="openai:gpt-4o-mini")
    lead = Agent("lead", model=ScriptedModel([plan_for("w"), plan_for("w"), "final"]))
    result = await Orchestrator(planner=lead, workers=[keyless]).run("x", store=MemoryStore())
    assert result.stop_reason is StopReason.ERROR
    assert result.error is not None and "OPENAI_API_KEY" in result.error


async def test_replan_repeats_zero_turns_the_same_plan_detector_off() -> None:
    lead = Agent("lead", model=ScriptedModel([plan_for("w"), "final"]))
    team = Orchestrator(planner=lead, workers=[Agent("w", model=ScriptedModel(["r"]))])
    result = await team.run("x", store=MemoryStore(), loops=LoopPolicy(replan_repeats=0))
    assert result.ok and result.output == "final"


async def test_three_speakers_each_repeating_their_own_message_is_a_stale_chat() -> None:
    lines = {
        "a": "I think we should measure the latency of the cache first.",
        "b": "Tokens must never be stored in local storage, for security.",
        "c": "From the product side, users mostly care about fast logins.",
    }
    speakers = [Agent(n, model=ScriptedModel(fn=lambda r, t=t: t)) for n, t in lines.items()]
    store = MemoryStore()
    result = await GroupChat(speakers, max_rounds=30).run("x", store=store)
    assert result.stop_reason is StopReason.LOOP
    messages = [e for e in await store.events(result.run_id) if e.kind is EventKind.CHAT_MESSAGE]
    assert len(messages) <= 6  # one round of news, then three rounds of repeats


async def test_agent_repeating_a_tool_call_inside_a_nested_team_stops_only_that_team() -> None:
    @tool
    def search(query: str) -> str:
        """Search."""
        return "nothing new"

    stuck = Agent(
        "stuck",
        tools=[search],
        max_turns=20,
        model=ScriptedModel(fn=lambda r: call("search", query="same")),
    )
    after = Agent("after", model=ScriptedModel(["wrapped up"]))
    store = MemoryStore()
    result = await Pipeline([Pipeline([stuck], name="inner"), after]).run("x", store=store)
    assert result.stop_reason is StopReason.COMPLETED and result.output == "wrapped up"
    events = await store.events(result.run_id)
    assert [e.payload["detector"] for e in events if e.kind is EventKind.LOOP_DETECTED] == [
        "repeated_tool_call"
    ]
    assert "loop_contained" in [e.payload["code"] for e in events if e.kind is EventKind.NOTICE]


@pytest.mark.parametrize(
    ("make", "kwargs"),
    [
        (Limits, {"max_depth": float("nan")}),
        (Limits, {"max_fanout": 2.5}),
        (Limits, {"max_replans": -1}),
        (Limits, {"max_turns": True}),
        (LoopPolicy, {"similarity": float("nan")}),
        (LoopPolicy, {"similarity": 0}),
        (LoopPolicy, {"similarity": 1.5}),
        (LoopPolicy, {"repeated_tool_calls": -1}),
        (LoopPolicy, {"stale_chat_rounds": 1.5}),
    ],
)
def test_limits_and_loop_thresholds_that_guard_nothing_are_config_errors(
    make: type[object], kwargs: dict[str, object]
) -> None:
    # a NaN depth would never be exceeded; a NaN similarity never matches
    with pytest.raises(ConfigError):
        make(**kwargs)
