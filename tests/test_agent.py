"""One agent's loop: tool allow-list, tool failures, structured output, limits."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from pydantic import BaseModel

from podium import (
    MAX_TEXT_CHARS,
    Agent,
    Event,
    EventKind,
    MemoryStore,
    Message,
    ModelResponse,
    Result,
    StopReason,
    Tool,
    ToolContext,
    tool,
)
from podium.testing import ScriptedModel, call


async def run_agent(agent: Agent, task: str = "help me") -> tuple[Result, list[Event], MemoryStore]:
    store = MemoryStore()
    result = await agent.run(task, store=store)
    return result, await store.events(result.run_id), store


def by_kind(events: list[Event], kind: EventKind) -> list[Event]:
    return [e for e in events if e.kind is kind]


def tool_messages(model: ScriptedModel, request: int) -> list[Message]:
    return [m for m in model.requests[request].messages if m.role == "tool"]


deleted: list[str] = []


@tool
def delete_everything() -> str:
    """Delete every file (only the admin agent holds this)."""
    deleted.append("yes")
    return "all gone"


@tool
def search(query: str) -> str:
    """Search the web."""
    return f"results for {query}"


@pytest.fixture(autouse=True)
def _reset_deleted() -> None:
    deleted.clear()


async def test_tool_not_on_the_agents_list_is_refused_and_recorded() -> None:
    Agent("admin", tools=[delete_everything])  # the tool exists, just not for `helper`
    model = ScriptedModel([call("delete_everything"), "I cannot do that"])
    agent = Agent("helper", model=model, tools=[search])

    result, events, _ = await run_agent(agent)

    assert result.ok and result.output == "I cannot do that"
    assert deleted == []
    (reply,) = tool_messages(model, 1)
    assert reply.content == (
        "error: tool 'delete_everything' is not available to you. Tools you may call: search."
    )
    (security,) = by_kind(events, EventKind.SECURITY)
    assert security.payload["tool"] == "delete_everything"
    assert security.payload["reason"] == "tool_not_allowed"
    assert security.payload["allowed"] == ["search"]
    assert security.agent == "helper"
    assert by_kind(events, EventKind.TOOL_CALL) == []
    assert [t.name for t in model.requests[0].tools] == ["search"]


async def test_repeated_disallowed_tool_calls_stop_the_run() -> None:
    model = ScriptedModel(fn=lambda request: call("delete_everything"))
    agent = Agent("helper", model=model, tools=[search], max_malformed_tool_calls=2)

    result, events, _ = await run_agent(agent)

    assert result.stop_reason is StopReason.ERROR
    assert result.error is not None
    assert "agent helper" in result.error
    assert "2 malformed or disallowed tool calls in a row" in result.error
    assert "delete_everything" in result.error
    assert deleted == []
    assert len(model.requests) == 2
    assert len(by_kind(events, EventKind.SECURITY)) == 2
    (error,) = by_kind(events, EventKind.ERROR)
    assert (error.payload["code"], error.agent) == ("tool", "helper")


async def test_a_good_call_resets_the_malformed_streak() -> None:
    script = [
        call("delete_everything"),
        call("search", query="x"),
        call("delete_everything"),
        "done",
    ]
    model = ScriptedModel(script)
    agent = Agent("helper", model=model, tools=[search], max_malformed_tool_calls=2)

    result, _, _ = await run_agent(agent)

    assert result.ok and result.output == "done"


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def explode(reason: str) -> str:
    """Always fails."""
    raise ValueError(f"kaboom: {reason}")


@tool(timeout=0.05)
async def slow() -> str:
    """Takes far too long."""
    await asyncio.sleep(1)
    return "late"


@pytest.mark.parametrize(
    ("tool_call", "expected"),
    [
        (call("explode", reason="test"), "error: 'explode' raised ValueError: kaboom: test"),
        (call("add", "{not json"), "error: arguments for 'add' are not valid JSON ("),
        (call("add", "[1, 2]"), "error: arguments for 'add' must be a JSON object."),
        (
            call("add", a="one", b=2),
            "error: invalid arguments for 'add': a: Input should be a valid integer",
        ),
        (call("add", a=1), "error: invalid arguments for 'add': b: Field required"),
        (
            call("add", a=1, b=2, c=3),
            "error: invalid arguments for 'add': c: Extra inputs are not permitted",
        ),
        (call("slow"), "error: 'slow' timed out after 0.05s."),
    ],
    ids=["raises", "bad-json", "not-object", "wrong-type", "missing", "extra", "timeout"],
)
async def test_tool_failures_go_back_to_the_model(tool_call: Any, expected: str) -> None:
    model = ScriptedModel([tool_call, "recovered"])
    agent = Agent("calc", model=model, tools=[add, explode, slow])

    started = time.perf_counter()
    result, events, _ = await run_agent(agent)

    assert time.perf_counter() - started < 0.5
    assert result.stop_reason is StopReason.COMPLETED
    assert result.output == "recovered"
    (reply,) = tool_messages(model, 1)
    assert reply.content.startswith(expected)
    (recorded,) = by_kind(events, EventKind.TOOL_RESULT)
    assert recorded.payload["ok"] is False
    assert recorded.payload["result"] == reply.content


async def test_sync_and_async_tools_both_run() -> None:
    @tool
    async def shout(text: str) -> str:
        """Upper-case text."""
        await asyncio.sleep(0)
        return text.upper()

    model = ScriptedModel([[call("add", a=2, b=3), call("shout", text="hi")], "5 and HI"])
    agent = Agent("calc", model=model, tools=[add, shout])

    result, events, _ = await run_agent(agent)

    assert result.output == "5 and HI"
    assert [(m.name, m.content) for m in tool_messages(model, 1)] == [("add", "5"), ("shout", "HI")]
    assert [e.payload["ok"] for e in by_kind(events, EventKind.TOOL_RESULT)] == [True, True]


async def test_tool_context_is_injected_and_hidden_from_the_model() -> None:
    seen: list[ToolContext] = []

    @tool(effect="write")
    def save(note: str, ctx: ToolContext) -> str:
        """Save a note."""
        seen.append(ctx)
        return f"saved {note}"

    assert isinstance(save, Tool)
    assert set(save.spec.parameters["properties"]) == {"note"}
    assert save.spec.parameters["required"] == ["note"]
    model = ScriptedModel([call("save", note="n1"), "ok"])
    agent = Agent("scribe", model=model, tools=[save])

    result, events, _ = await run_agent(agent)

    assert result.ok
    (spec,) = model.requests[0].tools
    assert "ctx" not in spec.parameters["properties"]
    (ctx,) = seen
    (tool_call,) = by_kind(events, EventKind.TOOL_CALL)
    assert (ctx.run_id, ctx.agent, ctx.step) == (result.run_id, "scribe", tool_call.path)
    assert ctx.idempotency_key == f"{result.run_id}:{tool_call.path}"
    assert tool_call.path == "root/tool[save]#0"


class City(BaseModel):
    name: str
    population: int


async def test_structured_output_gets_one_repair_round() -> None:
    model = ScriptedModel(
        ['{"name": "Paris", "population": "lots"}', '{"name": "Paris", "population": 2100000}']
    )
    agent = Agent("geo", model=model, output_type=City)

    result, _, store = await run_agent(agent)

    assert result.stop_reason is StopReason.COMPLETED
    assert result.output == City(name="Paris", population=2100000)
    repair = model.requests[1].messages[-1]
    assert repair.role == "user"
    assert "does not match the City schema" in repair.content
    assert "population: Input should be a valid integer" in repair.content
    assert model.requests[0].output_name == "City"
    run = await store.get_run(result.run_id)
    assert run is not None and run.output == '{"name":"Paris","population":2100000}'


async def test_structured_output_invalid_twice_is_an_error() -> None:
    model = ScriptedModel(["not json at all", '{"name": "Paris"}', "unused"])
    agent = Agent("geo", model=model, output_type=City)

    result, events, _ = await run_agent(agent)

    assert result.stop_reason is StopReason.ERROR
    assert result.output is None
    assert result.error is not None
    assert "output still invalid after one repair round" in result.error
    assert "population: Field required" in result.error
    assert len(model.requests) == 2
    (error,) = by_kind(events, EventKind.ERROR)
    assert (error.payload["error"], error.payload["code"]) == ("OutputValidationError", "output")


async def test_endless_tool_calls_stop_at_max_turns() -> None:
    pings: list[int] = []

    @tool
    def ping(n: int) -> str:
        """Ping."""
        pings.append(n)
        return "pong"

    # different arguments each time, so this is not the repeated-call loop detector
    model = ScriptedModel(fn=lambda request: call("ping", n=len(request.messages)))
    agent = Agent("looper", model=model, tools=[ping], max_turns=3)

    result, events, store = await run_agent(agent)

    assert result.stop_reason is StopReason.MAX_TURNS
    assert result.output is None
    assert result.error is not None and "no final answer after 3 turns" in result.error
    assert len(model.requests) == 3
    assert len(pings) == 3
    assert by_kind(events, EventKind.ERROR) == []  # a guard stop, not a failure
    run = await store.get_run(result.run_id)
    assert run is not None and run.status == "max_turns"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("", "the model returned an empty answer"),
        ("   \n", "the model returned an empty answer"),
        (ModelResponse(text="The answer is", finish_reason="length"), "cut at max_tokens"),
        ("word " * 100, "cut at max_tokens"),  # the scripted model cuts it at max_tokens=10
    ],
    ids=["empty", "blank", "length", "too-long"],
)
async def test_incomplete_answer_is_not_a_final_answer(answer: Any, expected: str) -> None:
    agent = Agent("brief", model=ScriptedModel([answer]), max_tokens=10)

    result, events, store = await run_agent(agent)

    assert result.stop_reason is StopReason.ERROR
    assert result.output is None
    assert result.error is not None and expected in result.error
    assert "agent brief" in result.error
    (error,) = by_kind(events, EventKind.ERROR)
    assert (error.payload["error"], error.payload["code"]) == ("IncompleteResponse", "incomplete")
    run = await store.get_run(result.run_id)
    assert run is not None
    assert (run.status, run.output) == ("error", None)
    assert events[-1].payload["output"] == ""


async def test_huge_tool_result_is_truncated_with_a_marker() -> None:
    @tool
    def dump() -> str:
        """Return a lot of text."""
        return "x" * 100_000

    model = ScriptedModel([call("dump"), "summarized"])
    agent = Agent("reader", model=model, tools=[dump])

    result, events, _ = await run_agent(agent)

    assert result.ok
    marker = f"\n[... truncated by podium: 100000 characters, first {MAX_TEXT_CHARS} kept]"
    expected = "x" * MAX_TEXT_CHARS + marker
    (stored,) = by_kind(events, EventKind.TOOL_RESULT)
    assert stored.payload["result"] == expected
    (sent,) = tool_messages(model, 1)
    assert sent.content == expected
    second_request = by_kind(events, EventKind.MODEL_REQUEST)[1]
    assert second_request.payload["messages"][-1]["content"] == expected


async def test_changed_instructions_and_tools_reach_the_next_run() -> None:
    model = ScriptedModel(["first", "second"])
    agent = Agent("helper", instructions="Be brief.", model=model)
    await run_agent(agent)
    agent.instructions = "Answer in French."
    agent.tools = (search,)
    result, _, _ = await run_agent(agent)
    assert result.stop_reason is StopReason.COMPLETED
    first, second = model.requests
    assert "Be brief." in first.messages[0].content
    assert "Answer in French." in second.messages[0].content
    assert "Be brief." not in second.messages[0].content
    assert [t.name for t in first.tools] == []
    assert [t.name for t in second.tools] == ["search"]
