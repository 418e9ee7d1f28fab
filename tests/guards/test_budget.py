"""Budgets are hard caps: checked and reserved before every model call."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podium import (
    Agent,
    Budget,
    ConfigError,
    EventKind,
    MemoryStore,
    ModelRequest,
    ModelResponse,
    Orchestrator,
    Pipeline,
    StopReason,
    Usage,
    tool,
)
from podium.guards import input_token_bound
from podium.guards._budget import BudgetExhausted, BudgetLedger
from podium.messages import Message
from podium.testing import Price, ScriptedModel, call

PRICE = Price(input=10.0, output=30.0)  # USD per million tokens


def largest(request: ModelRequest) -> str:
    """The largest answer max_tokens allows (4 bytes per scripted token)."""
    return "x" * (request.max_tokens * 4)


def plan(n: int) -> str:
    return json.dumps(
        {
            "subtasks": [
                {"id": f"t{i}", "assignee": f"w{i}", "instructions": f"part {i}"} for i in range(n)
            ]
        }
    )


def team(n: int = 4) -> Orchestrator:
    workers = [
        Agent(f"w{i}", max_tokens=2000, model=ScriptedModel(fn=largest, price=PRICE))
        for i in range(n)
    ]
    lead = Agent(
        "lead",
        max_tokens=2000,
        model=ScriptedModel(
            fn=lambda r: plan(n) if r.output_name == "Plan" else largest(r), price=PRICE
        ),
    )
    return Orchestrator(planner=lead, workers=workers, max_concurrency=2)


async def spent(store: MemoryStore, run_id: str) -> float:
    return sum(e.cost_usd for e in await store.events(run_id))


async def test_tight_usd_budget_stops_mid_plan_and_never_exceeds_the_cap() -> None:
    cap = 0.15
    store = MemoryStore()
    result = await team().run("go", store=store, budget=Budget(usd=cap))
    assert result.stop_reason is StopReason.BUDGET
    events = await store.events(result.run_id)
    total = await spent(store, result.run_id)
    assert 0 < total <= cap
    assert result.usage.total.cost_usd == pytest.approx(total)
    ends = [e for e in events if e.kind is EventKind.SUBTASK_END]
    assert 0 < len(ends) < 4  # it landed mid-plan
    (stop,) = [e for e in events if e.kind is EventKind.GUARD_STOP]
    assert stop.payload["reason"] == "budget"
    assert events[-1].kind is EventKind.RUN_END  # the log survives
    assert result.partial  # finished subtasks' results are kept
    # calls near the end were clamped rather than skipped
    clamped = [e.payload["max_tokens"] for e in events if e.kind is EventKind.MODEL_REQUEST]
    assert min(clamped) < 2000


async def test_token_and_call_budgets() -> None:
    store = MemoryStore()
    result = await team().run("go", store=store, budget=Budget(tokens=6000))
    assert result.stop_reason is StopReason.BUDGET
    used = sum(e.input_tokens + e.output_tokens for e in await store.events(result.run_id))
    assert used <= 6000

    result = await team().run("go", store=MemoryStore(), budget=Budget(model_calls=3))
    assert result.stop_reason is StopReason.BUDGET
    assert result.usage.total.model_calls == 3


async def test_unknown_price_fails_closed_under_a_usd_budget() -> None:
    agent = Agent("a", model=ScriptedModel(["hi"], name="scripted:unpriced-model"))
    result = await agent.run("x", store=MemoryStore(), budget=Budget(usd=1.0))
    assert result.stop_reason is StopReason.ERROR
    assert "no known price" in (result.error or "")
    ok = await agent.run("x", store=MemoryStore(), budget=Budget(tokens=10_000))
    assert ok.stop_reason is StopReason.ERROR or ok.ok  # tokens need no price


async def test_agent_share_caps_the_agent_and_unused_budget_stays_with_parent() -> None:
    greedy = Agent(
        "greedy",
        max_tokens=2000,
        budget=Budget(usd=0.05),
        model=ScriptedModel(fn=largest, price=PRICE),
    )
    store = MemoryStore()
    result = await greedy.run("x", store=store, budget=Budget(usd=1.0))
    assert result.ok  # one call fits its share
    assert await spent(store, result.run_id) <= 0.05

    @tool
    def more(n: int) -> str:
        """Fetch more."""
        return "more"

    looping = Agent(
        "looping",
        max_tokens=500,
        tools=[more],
        budget=Budget(usd=0.02),
        max_turns=50,
        model=ScriptedModel(fn=lambda r: call("more", n=len(r.messages)), price=PRICE),
    )
    store = MemoryStore()
    stopped = await looping.run("x", store=store, budget=Budget(usd=1.0))
    assert stopped.stop_reason is StopReason.BUDGET
    assert await spent(store, stopped.run_id) <= 0.02
    assert "budget of looping" in (stopped.error or "")


async def test_parallel_calls_reserve_before_dispatch() -> None:
    # 8 workers in parallel, each would cost ~0.06; the cap allows two of them
    store = MemoryStore()
    wide = team(8)
    wide.max_concurrency = 8
    result = await wide.run("go", store=store, budget=Budget(usd=0.2))
    assert result.stop_reason is StopReason.BUDGET
    assert await spent(store, result.run_id) <= 0.2


async def test_wall_clock_budget_cancels_in_flight_calls() -> None:
    slow = Agent("slow", model=ScriptedModel(["late"], latency=5.0))
    store = MemoryStore()
    started = asyncio.get_running_loop().time()
    result = await slow.run("x", store=store, budget=Budget(seconds=0.2))
    assert asyncio.get_running_loop().time() - started < 2.0
    assert result.stop_reason is StopReason.BUDGET
    assert "wall-clock" in (result.error or "")


def test_negative_budget_is_refused() -> None:
    with pytest.raises(ConfigError):
        Budget(usd=-1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cap=st.floats(min_value=0.0005, max_value=0.3),
    fraction=st.floats(min_value=0.0, max_value=1.0),
    max_tokens=st.integers(min_value=16, max_value=4000),
    workers=st.integers(min_value=1, max_value=6),
)
def test_property_recorded_cost_never_exceeds_the_cap(
    cap: float, fraction: float, max_tokens: int, workers: int
) -> None:
    def sized(request: ModelRequest) -> str:
        if request.output_name == "Plan":
            return plan(workers)
        return "y" * max(4, int(request.max_tokens * 4 * fraction))

    members = [
        Agent(f"w{i}", max_tokens=max_tokens, model=ScriptedModel(fn=sized, price=PRICE))
        for i in range(workers)
    ]
    lead = Agent(
        "lead", max_tokens=max(max_tokens, 400), model=ScriptedModel(fn=sized, price=PRICE)
    )
    store = MemoryStore()
    result = asyncio.run(
        Orchestrator(planner=lead, workers=members).run("go", store=store, budget=Budget(usd=cap))
    )
    total = asyncio.run(spent(store, result.run_id))
    assert total <= cap + 1e-12
    assert result.stop_reason in (StopReason.COMPLETED, StopReason.BUDGET, StopReason.ERROR)


async def test_answer_cut_at_the_budget_clamp_stops_with_budget_not_error() -> None:
    chatty = Agent(
        "chatty", max_tokens=4000, model=ScriptedModel(fn=lambda r: "z" * 40_000, price=PRICE)
    )
    store = MemoryStore()
    result = await chatty.run("x", store=store, budget=Budget(usd=0.01))
    assert result.stop_reason is StopReason.BUDGET
    assert "remaining budget" in (result.error or "")
    assert await spent(store, result.run_id) <= 0.01


@pytest.mark.parametrize(
    "caps",
    [
        {"usd": float("nan")},
        {"usd": float("inf")},
        {"tokens": float("nan")},
        {"model_calls": float("inf")},
        {"seconds": float("nan")},
        {"usd": True},
        {"usd": "0.5"},
        {"min_output_tokens": 0},
        {"min_output_tokens": -1},
    ],
)
def test_a_cap_that_caps_nothing_is_a_config_error(caps: dict[str, object]) -> None:
    # NaN compares False with everything and inf never runs out: either would
    # silently run without the cap the user asked for
    with pytest.raises(ConfigError, match="budget"):
        Budget(**caps)  # type: ignore[arg-type]


def byte_per_token(request: ModelRequest) -> ModelResponse:
    """A model whose tokenizer spends one token per byte: the bound's worst case."""
    tokens = input_token_bound(request)
    return ModelResponse(
        text="ok", usage=Usage(input_tokens=tokens, cost_usd=PRICE.cost(tokens, 0))
    )


def test_a_call_whose_input_alone_exceeds_what_is_left_is_not_made() -> None:
    # a request that asks for no output: its minimum is 0 tokens, so only the
    # headroom's rounding stands between it and a call the budget cannot pay
    request = ModelRequest(messages=(Message.user("hello"),), max_tokens=0)
    cap = PRICE.cost(input_token_bound(request), 0) * 0.99  # headroom: -0.x tokens
    ledger = BudgetLedger(budget=Budget(usd=cap), name="run")
    with pytest.raises(BudgetExhausted):
        ledger.reserve(request, PRICE, "scripted:m")


async def test_an_agent_share_caps_all_its_subtasks_together() -> None:
    # one worker with a $0.03 share gets five subtasks, each able to spend ~$0.06
    worker = Agent(
        "w",
        max_tokens=2000,
        budget=Budget(usd=0.03),
        model=ScriptedModel(fn=largest, price=PRICE),
    )
    five = json.dumps(
        {
            "subtasks": [
                {"id": f"t{i}", "assignee": "w", "instructions": f"part {i}"} for i in range(5)
            ]
        }
    )
    lead = Agent(
        "lead",
        model=ScriptedModel(fn=lambda r: five if r.output_name == "Plan" else "final", price=PRICE),
    )
    store = MemoryStore()
    team = Orchestrator(planner=lead, workers=[worker], max_concurrency=1)
    result = await team.run("go", store=store, budget=Budget(usd=1.0))
    events = await store.events(result.run_id)
    by_worker = sum(e.cost_usd for e in events if e.agent == "w")
    assert by_worker <= 0.03
    assert result.stop_reason is StopReason.BUDGET
    assert "budget of w" in (result.error or "")


async def test_a_team_share_caps_all_its_invocations_together() -> None:
    member = Agent("m", max_tokens=2000, model=ScriptedModel(fn=largest, price=PRICE))
    sub = Pipeline([member], name="sub", budget=Budget(usd=0.03))
    five = json.dumps(
        {"subtasks": [{"id": f"t{i}", "assignee": "sub", "instructions": "go"} for i in range(5)]}
    )
    lead = Agent(
        "lead",
        model=ScriptedModel(fn=lambda r: five if r.output_name == "Plan" else "final", price=PRICE),
    )
    store = MemoryStore()
    team = Orchestrator(planner=lead, workers=[sub], max_concurrency=1)
    result = await team.run("go", store=store, budget=Budget(usd=1.0))
    by_member = sum(e.cost_usd for e in await store.events(result.run_id) if e.agent == "m")
    assert by_member <= 0.03
    assert result.stop_reason is StopReason.BUDGET
