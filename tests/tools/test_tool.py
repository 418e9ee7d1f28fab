"""`@tool`: schemas from type hints, argument checks, and what comes back to the model."""

from __future__ import annotations

import datetime
import enum
import json
from typing import Annotated

import pytest
from pydantic import BaseModel, Field

from podium import Agent, ConfigError, Event, EventKind, MemoryStore, Result, tool
from podium.testing import ScriptedModel, call


async def run_tool(*tools: object, tool_call: object) -> tuple[Result, str, list[Event]]:
    """Run an agent that makes `tool_call` once; returns the text the model got back."""
    model = ScriptedModel([tool_call, "done"])
    agent = Agent("caller", model=model, tools=list(tools))  # type: ignore[arg-type]
    store = MemoryStore()
    result = await agent.run("go", store=store)
    replies = [m.content for r in model.requests[1:] for m in r.messages if m.role == "tool"]
    return result, replies[0] if replies else "", await store.events(result.run_id)


async def test_a_tool_raising_its_own_timeout_error_is_reported_as_raised() -> None:
    @tool(timeout=None)
    def fetch(url: str) -> str:
        """Fetch a page."""
        raise TimeoutError("connect timed out")

    @tool(timeout=30)
    def fetch_with_limit(url: str) -> str:
        """Fetch a page, within 30 seconds."""
        raise TimeoutError("read timed out")

    for t, message in ((fetch, "connect timed out"), (fetch_with_limit, "read timed out")):
        result, reply, events = await run_tool(t, tool_call=call(t.name, url="https://x"))

        assert result.ok and result.output == "done"
        assert reply == f"error: {t.name!r} raised TimeoutError: {message}"
        (recorded,) = [e for e in events if e.kind is EventKind.TOOL_RESULT]
        assert recorded.payload["result"] == reply


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Item(BaseModel):
    name: str
    color: Color


async def test_tool_results_are_json_all_the_way_down() -> None:
    @tool
    def inventory() -> dict[str, object]:
        """List the inventory."""
        return {
            "items": [Item(name="pen", color=Color.RED)],
            "color": Color.BLUE,
            "checked": datetime.date(2024, 5, 1),
        }

    _, reply, _ = await run_tool(inventory, tool_call=call("inventory"))

    assert json.loads(reply) == {
        "items": [{"name": "pen", "color": "red"}],
        "color": "blue",
        "checked": "2024-05-01",
    }


async def test_parameters_named_like_pydantic_attributes_work_without_warnings() -> None:
    @tool
    def query(sql: str, schema: str, json: bool = False) -> str:
        """Run a query in a schema."""
        return f"{schema}: {sql} ({json})"

    assert set(query.spec.parameters["properties"]) == {"sql", "schema", "json"}
    _, reply, _ = await run_tool(query, tool_call=call("query", sql="select 1", schema="public"))
    assert reply == "public: select 1 (False)"


def test_parameters_the_model_could_never_fill_in_are_config_errors() -> None:
    def positional(x: int, /) -> int:
        return x

    def private(_x: int) -> int:
        return _x

    with pytest.raises(ConfigError, match="positional-only"):
        tool(positional)

    def documented(_x: int) -> int:
        """Use x.

        Args:
            _x: a described parameter is still one pydantic drops.
        """
        return _x

    with pytest.raises(ConfigError, match="'_x'"):
        tool(private)
    with pytest.raises(ConfigError, match="'_x'"):
        tool(documented)


@pytest.mark.parametrize("name", ["web search", "a.b", "x" * 65])
def test_tool_names_providers_would_reject_are_config_errors(name: str) -> None:
    def f() -> str:
        return ""

    with pytest.raises(ConfigError, match="tool name"):
        tool(name=name)(f)


def test_a_lambda_needs_a_name() -> None:
    with pytest.raises(ConfigError, match="tool name '<lambda>'"):
        tool(lambda: "")
    assert tool(name="now")(lambda: "").name == "now"


def test_parameter_descriptions_come_from_the_docstring() -> None:
    @tool
    def search(
        query: str, limit: int = 5, note: Annotated[str, Field(description="kept")] = ""
    ) -> str:
        """Search the team's notes.

        Args:
            query: words to look for,
                in any order.
            limit: at most this many notes.
            note: described by its Field instead.
        """
        return query

    spec = search.spec
    assert spec.description == "Search the team's notes."
    props = spec.parameters["properties"]
    assert props["query"]["description"] == "words to look for, in any order."
    assert props["limit"]["description"] == "at most this many notes."
    assert props["limit"]["default"] == 5
    assert props["note"]["description"] == "kept"
    assert spec.parameters["required"] == ["query"]


async def test_a_plain_function_returning_a_coroutine_is_awaited() -> None:
    async def lookup(query: str) -> str:
        return f"found {query}"

    def wrapper(query: str) -> object:  # a plain wrapper around an async function
        """Look it up."""
        return lookup(query)

    agent = Agent(
        "a",
        tools=[tool(wrapper)],
        model=ScriptedModel(
            fn=lambda r: next(
                (f"saw {m.content}" for m in r.messages if m.role == "tool"),
                call("wrapper", query="tides"),
            )
        ),
    )
    result = await agent.run("x", store=MemoryStore())
    assert result.output == "saw found tides"
