"""The scripted model users test with: it must keep every budget a real model keeps."""

from __future__ import annotations

import json

import pytest

from podium import Agent, Budget, MemoryStore, StopReason, tool
from podium.errors import ConfigError
from podium.guards._budget import input_token_bound
from podium.messages import Message
from podium.models._base import ModelRequest
from podium.testing import Price, ScriptedModel, call, count_tokens


@tool
def save(text: str) -> str:
    """Save a text."""
    return "saved"


def test_scripted_tool_calls_never_go_past_max_tokens_so_budgets_hold() -> None:
    big = call("save", text="x" * 4_000)  # about 1,000 tokens of arguments
    model = ScriptedModel([big, "done"], price=Price(input=1.0, output=100.0))
    agent = Agent("w", tools=[save], max_tokens=50, model=model)
    result = agent.run_sync("go", store=MemoryStore(), budget=Budget(tokens=600))
    total = result.usage.total
    assert total.input_tokens + total.output_tokens <= 600, result.error

    model = ScriptedModel([big, "done"], price=Price(input=1.0, output=100.0))
    agent = Agent("w", tools=[save], max_tokens=50, model=model)
    result = agent.run_sync("go", store=MemoryStore(), budget=Budget(usd=0.001))
    assert result.usage.total.cost_usd <= 0.001, result.error


async def test_a_cut_answer_keeps_what_fits_and_says_length() -> None:
    model = ScriptedModel([[call("save", text="a" * 100), call("save", text="b" * 100)]])
    request = ModelRequest(messages=(Message.user("go"),), max_tokens=10)
    response = await model.request(request)
    assert response.finish_reason == "length"
    assert response.usage.output_tokens == 10
    assert sum(count_tokens(c.arguments) for c in response.tool_calls) <= 10
    assert [c.name for c in response.tool_calls] == ["save"]  # the second did not fit
    assert response.usage.input_tokens <= input_token_bound(request)

    fits = ScriptedModel([call("save", text="short")])
    response = await fits.request(request)
    assert response.finish_reason == "tool_calls"
    assert json.loads(response.tool_calls[0].arguments) == {"text": "short"}


def test_an_agent_the_per_agent_script_does_not_name_gets_a_clear_error() -> None:
    model = ScriptedModel({"writer": ["hi"]})
    result = Agent("editor", model=model).run_sync("go", store=MemoryStore())
    assert result.stop_reason is StopReason.ERROR
    assert "no responses for agent 'editor'" in (result.error or "")
    assert "writer" in (result.error or "")  # what it does script

    Agent("writer", model=model).run_sync("go", store=MemoryStore())
    result = Agent("writer", model=model).run_sync("go", store=MemoryStore())
    assert "no response left for agent 'writer'" in (result.error or "")


@pytest.mark.parametrize("answer", [None, {"text": "hi"}, ["hi"]])
async def test_a_function_answering_something_else_is_a_config_error(answer: object) -> None:
    model = ScriptedModel(fn=lambda request: answer)  # type: ignore[arg-type,return-value]
    with pytest.raises(ConfigError, match="text, a ModelResponse or tool call"):
        await model.request(ModelRequest(messages=(Message.user("go"),)))
