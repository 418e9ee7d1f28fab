"""`podium estimate`: a run's worst case, its least, and what its budget allows."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel
from typer.testing import CliRunner

from podium import Agent, Budget, GroupChat, Limits, MemoryStore, Orchestrator, StopReason, tool
from podium.cli import app
from podium.guards._budget import input_token_bound
from podium.guards._estimate import estimate
from podium.guards._estimate_walk import (
    AGGREGATOR_TEXT,
    CHAT_TEXT,
    PER_TURN,
    PLANNER_TEXT,
    REPAIR,
    REVIEWER_TEXT,
    SELECTOR_TEXT,
)
from podium.patterns import Handoffs
from podium.spec import load_spec
from podium.testing import Price, ScriptedModel, call

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SPECS = sorted(
    p
    for p in EXAMPLES.glob("*/*.yaml")
    if "version" in (yaml.safe_load(p.read_text(encoding="utf-8")) or {})
)
TASK = "Compare SQLite and PostgreSQL for a small team"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No provider keys; forget the example modules a test imported."""
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "PODIUM_MODEL", "PODIUM_STORE"):
        monkeypatch.delenv(var, raising=False)
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        origin = getattr(sys.modules[name], "__file__", None) or ""
        if origin and Path(origin).resolve().is_relative_to(EXAMPLES):
            del sys.modules[name]


def estimate_json(*args: str) -> dict[str, Any]:
    done = runner.invoke(app, ["estimate", *args, "--json"])
    assert done.exit_code == 0, done.output
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def agents_of(runnable: Any) -> Iterator[Agent]:
    """Every agent object in a team, members of nested teams included."""
    if isinstance(runnable, Agent):
        yield runnable
        return
    for attr in ("planner", "aggregator", "reviewer", "selector"):
        member = getattr(runnable, attr, None)
        if isinstance(member, Agent):
            yield member
    for attr in ("workers", "participants", "agents", "stages"):
        for member in getattr(runnable, attr, ()):
            yield from agents_of(getattr(member, "runnable", member))


# --- every example ----------------------------------------------------------------------


def test_the_examples_are_found() -> None:
    assert {p.parent.name for p in SPECS} >= {
        "research_team",
        "pipeline",
        "hierarchy",
        "group_chat",
        "handoffs",
    }


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_example_has_worst_least_and_budget_bounds(spec: Path) -> None:
    data = estimate_json(str(spec), TASK, "--model", "openai:gpt-4o-mini")
    worst, least = data["worst"], data["least"]
    assert least["calls"] >= 1 and worst["calls"] >= least["calls"]
    assert worst["tokens"] >= least["tokens"] > 0
    assert worst["usd"] >= least["usd"] > 0
    assert data["budget"] is None and data["allowed"] == worst and data["unpriced"] == []
    for agent in data["agents"]:
        assert agent["model"] == "openai:gpt-4o-mini" and agent["price"] is not None
        assert agent["worst"]["calls"] == agent["max_calls"] >= agent["least"]["calls"]
        assert agent["max_input_tokens"] > 0

    capped = estimate_json(str(spec), TASK, "--model", "openai:gpt-4o-mini", "--budget-usd", "1e-4")
    assert capped["budget"]["usd"] == 1e-4
    assert capped["allowed"]["usd"] <= 1e-4 < worst["usd"]

    shown = runner.invoke(app, ["estimate", str(spec), TASK, "--budget-usd", "0.001"])
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.stdout.split())
    assert "worst case" in text and "least" in text and "budget allows: at most $" in text


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_an_offline_run_of_every_example_lies_within_the_bounds(spec: Path) -> None:
    loaded = load_spec(spec)
    team = loaded.build()
    bounds = estimate(team, TASK, tool_result_tokens=4_000)
    result = team.run_sync(TASK, store=MemoryStore())
    assert result.stop_reason is StopReason.COMPLETED, result.error
    total = result.usage.total
    assert bounds.least.calls <= total.model_calls <= bounds.worst.calls
    assert total.input_tokens + total.output_tokens <= bounds.worst.tokens
    rows = {a.name: a for a in bounds.agents}
    for agent in agents_of(team):
        requests = getattr(agent.resolved_model(), "requests", [])
        assert len(requests) <= rows[agent.name].max_calls
        for request in requests:
            assert input_token_bound(request) <= rows[agent.name].max_input_tokens, agent.name


# --- the formula --------------------------------------------------------------------------


@tool
def lookup(query: str) -> str:
    """Look something up."""
    return query


class Answer(BaseModel):
    text: str


def test_one_agent_worst_case_follows_the_documented_formula() -> None:
    price = Price(input=2.0, output=8.0)
    agent = Agent(
        "a",
        tools=[lookup],
        max_turns=4,
        max_tokens=100,
        model=ScriptedModel(["x"], name="scripted:p", price=price),
    )
    found = estimate(agent, "go", tool_result_tokens=50)
    (row,) = found.agents
    growth = 100 + 50 + PER_TURN
    first = row.max_input_tokens - 3 * growth
    assert first > 0
    assert row.max_calls == found.worst.calls == 4
    assert found.worst.output_tokens == 4 * 100
    assert found.worst.input_tokens == 4 * first + growth * 4 * 3 // 2
    assert found.worst.usd == pytest.approx(price.cost(found.worst.input_tokens, 400))
    assert found.least.calls == 1 and found.least.output_tokens == 1
    assert found.least.input_tokens < first

    # without tools: at most max_malformed_tool_calls calls (+1 repair for structured output)
    plain = Agent("p", max_turns=10, model="scripted:demo")
    assert estimate(plain, "go").worst.calls == plain.max_malformed_tool_calls == 3
    typed = Agent("t", max_turns=10, output_type=Answer, model="scripted:demo")
    found = estimate(typed, "go")
    assert found.worst.calls == 4
    growth = typed.max_tokens + PER_TURN + REPAIR
    assert found.agents[0].max_input_tokens - 3 * growth > 0
    # the run's max_turns caps every agent's own
    assert estimate(agent, "go", limits=Limits(max_turns=2)).worst.calls == 2


def test_budget_allows_at_most_each_cap_and_unpriced_models_are_reported() -> None:
    agent = Agent("a", tools=[lookup], max_turns=8, model="openai:gpt-4o")
    worst = estimate(agent, "go").worst
    found = estimate(agent, "go", budget=Budget(usd=worst.usd / 10, tokens=1000, model_calls=2))
    assert found.allowed.usd <= worst.usd / 10
    assert found.allowed.tokens <= 1000 and found.allowed.calls == 2
    assert found.unpriced == () and not found.notes

    unpriced = Agent("u", model="openai:my-finetune")
    found = estimate(unpriced, "go", budget=Budget(usd=1.0))
    assert found.unpriced == ("openai:my-finetune",)
    assert any("fails closed" in n for n in found.notes)
    data = estimate_json_for(unpriced)
    assert data["unpriced"] == ["openai:my-finetune"] and data["agents"][0]["price"] is None


def estimate_json_for(agent: Agent) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(estimate(agent, "go").to_dict()))
    return data


def test_a_budget_below_the_least_says_the_run_will_stop() -> None:
    agent = Agent("a", model="openai:gpt-4o", instructions="x" * 4000)
    found = estimate(agent, "go", budget=Budget(usd=1e-7))
    assert any("below what even the least run costs" in n for n in found.notes)


# --- patterns the examples do not cover -----------------------------------------------------


def scripted(answers: dict[str, Any]) -> ScriptedModel:
    """Answers by request: a plan, a review, a next speaker, else text."""

    def answer(request: Any) -> str:
        kind = request.output_name or "text"
        return str(answers[kind]) if kind in answers else "done"

    return ScriptedModel(fn=answer, price=Price(input=1.0, output=4.0))


def test_reviewer_and_selector_agents_are_bounded() -> None:
    plan = json.dumps({"subtasks": [{"id": "t1", "assignee": "w", "instructions": "do it"}]})
    model = scripted({"Plan": plan, "Review": json.dumps({"passed": True, "reason": "ok"})})
    critic = Agent("critic", model=model)
    team = Orchestrator(
        planner=Agent("lead", model=model),
        workers=[Agent("w", model=model)],
        reviewer=critic,
        max_subtasks=3,
    )
    found = estimate(team, "go")
    result = team.run_sync("go", store=MemoryStore())
    assert result.ok, result.error
    assert found.least.calls <= result.usage.total.model_calls <= found.worst.calls
    rows = {a.name: a for a in found.agents}
    assert rows["critic"].roles == ("reviewer in team",)
    # 2 plans x 3 subtasks x 3 attempts, each at most 4 calls (no tools, structured answer)
    assert rows["critic"].max_calls == 2 * 3 * 3 * 4
    for request in model.requests:
        assert input_token_bound(request) <= max(r.max_input_tokens for r in rows.values())

    chooser = scripted({"_NextSpeaker": json.dumps({"speaker": "b"})})
    chat = GroupChat(
        [Agent("a", model=chooser), Agent("b", model=chooser)],
        selector=Agent("mod", model=chooser),
        max_rounds=3,
    )
    found = estimate(chat, "go")
    result = chat.run_sync("go", store=MemoryStore())
    assert result.ok, result.error
    assert found.least.calls <= result.usage.total.model_calls <= found.worst.calls
    rows = {a.name: a for a in found.agents}
    assert rows["mod"].max_calls == 3 * 4 and rows["a"].max_calls == rows["b"].max_calls == 9
    assert rows["b"].least.calls == 0  # a chosen speaker need not speak
    for request in chooser.requests:
        assert input_token_bound(request) <= max(r.max_input_tokens for r in rows.values())


def test_pattern_prompt_allowances_cover_the_patterns_own_text() -> None:
    from podium._engine._output import output_instruction, schema_of
    from podium.patterns import _review, group_chat, orchestrator
    from podium.patterns._plan import Plan

    def size(guide: str, schema: Any = None, header: str = "") -> int:
        total = len(guide.encode()) + len(header.encode())
        if schema is not None:
            total += len(output_instruction(schema).encode())
            total += len(json.dumps(schema_of(schema)).encode())
        return total

    header = "Plan the work for this goal.\n\n## Goal\n\n\n## Workers\n"
    assert size(orchestrator._PLANNER_GUIDE, Plan, header) <= PLANNER_TEXT
    assert size(orchestrator._AGGREGATOR_GUIDE) <= AGGREGATOR_TEXT
    review_header = "Review the result of subtask  done by .\n\n## Instructions it was given\n"
    assert size(_review._GUIDE, _review.Review, review_header) <= REVIEWER_TEXT
    select = "Choose who speaks next in the group chat on this task.\n\n## Task\n\n\n"
    select += "## Participants\n"
    assert size("", group_chat._NextSpeaker, select + "Recent messages") <= SELECTOR_TEXT
    chat = GroupChat([Agent("a"), Agent("b")])
    assert len(chat._chat_guide("a").encode()) - len("b") <= CHAT_TEXT


# --- the command line -----------------------------------------------------------------------


def test_estimate_reports_spec_errors_with_their_location(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_text(
        "version: 1\nname: t\nbudget: {usd: -1}\nagents: {a: {}}\n"
        "team: {pattern: pipeline, stages: [a]}\n",
        encoding="utf-8",
    )
    done = runner.invoke(app, ["estimate", str(path), "go"])
    assert done.exit_code == 2
    assert f"{path}:3:15: budget.usd: must be at least 0, got -1" in " ".join(done.stderr.split())


def test_estimate_uses_the_spec_budget_inputs_and_prices(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_text(
        """\
version: 1
name: t
defaults: {model: "scripted:estimate-priced", max_tokens: 200}
budget: {usd: 0.0001, model_calls: 5}
inputs: {topic: {}}
agents: {a: {instructions: be brief}}
team: {pattern: pipeline, stages: [a]}
prices: {"scripted:estimate-priced": {input: 100, output: 400}}
""",
        encoding="utf-8",
    )
    data = estimate_json(str(path), "write about {topic}", "--input", "topic=owls")
    assert data["task"] == "write about owls"
    assert data["budget"]["usd"] == 0.0001 and data["budget"]["model_calls"] == 5
    assert data["allowed"]["usd"] <= 0.0001 and data["allowed"]["calls"] <= 3
    assert data["agents"][0]["price"] == {"input": 100.0, "output": 400.0}
    tighter = estimate_json(str(path), "x", "-i", "topic=owls", "--max-calls", "1")
    assert tighter["budget"]["model_calls"] == 1 and tighter["allowed"]["calls"] == 1
    missing = runner.invoke(app, ["estimate", str(path), "x"])
    assert missing.exit_code == 2 and "missing required input 'topic'" in missing.stderr


# --- shapes at the edges of the allowances ----------------------------------------------------


def test_a_selector_call_with_many_long_names_fits_its_bound() -> None:
    names = [f"participant_with_a_rather_long_name_{i:02d}" for i in range(6)]
    chooser = scripted({"_NextSpeaker": json.dumps({"speaker": names[1]})})
    chat = GroupChat(
        [Agent(n, model=chooser, max_tokens=16) for n in names],
        selector=Agent("mod", model=chooser, max_tokens=16),
        max_rounds=1,
    )
    limits = Limits(max_turns=1)
    rows = {a.name: a for a in estimate(chat, "go", limits=limits).agents}
    result = chat.run_sync("go", store=MemoryStore(), limits=limits)
    assert result.ok, result.error
    (selection, _) = chooser.requests
    assert input_token_bound(selection) <= rows["mod"].max_input_tokens


def test_handoff_tools_named_after_long_agent_names_fit_the_bound() -> None:
    class Ticket(BaseModel):
        order_id: str

    first, second = "a" * 60, "b" * 60
    model = ScriptedModel([call(f"transfer_to_{second}", reason="r", payload={"order_id": "1"})])
    team = Handoffs(
        [
            Agent(first, handoffs=[second], max_tokens=16, model=model),
            Agent(second, handoffs=[first], max_tokens=16, handoff_input=Ticket, model=model),
        ],
        max_handoffs=0,
    )
    limits = Limits(max_turns=1)
    rows = {a.name: a for a in estimate(team, "go", limits=limits).agents}
    team.run_sync("go", store=MemoryStore(), limits=limits)  # stops: no handoff allowed
    (request,) = model.requests
    assert input_token_bound(request) <= rows[first].max_input_tokens


def test_an_agent_that_fails_at_its_first_malformed_call_still_makes_one_call() -> None:
    agent = Agent("a", max_malformed_tool_calls=0, model=ScriptedModel(["done"]))
    found = estimate(agent, "go")
    result = agent.run_sync("go", store=MemoryStore())
    assert result.ok, result.error
    assert result.usage.total.model_calls == 1 <= found.worst.calls
    assert found.agents[0].max_calls >= 1
