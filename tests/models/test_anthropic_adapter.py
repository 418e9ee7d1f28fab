"""AnthropicModel against a local Messages API server, through the real SDK HTTP path."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import AsyncIterator, Iterator
from email.utils import formatdate

import pytest
from wire_server import Reply, WireServer, anthropic_message, error_body

from podium.errors import ConfigError, ProviderError
from podium.messages import Message, ToolCall, ToolSpec
from podium.models import CircuitBreakerModel
from podium.models._anthropic import AnthropicModel
from podium.models._base import ModelRequest
from podium.models._pricing import set_price
from podium.models._resolve import resolve_model
from podium.models._retry import RetryingModel, RetryPolicy

KEY = "sk-ant-test-0123456789abcdef"
HELLO = ModelRequest(messages=(Message.system("be brief"), Message.user("hi")), max_tokens=50)
WEATHER = ToolSpec(
    name="weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)


@pytest.fixture
def server() -> Iterator[WireServer]:
    with WireServer() as s:
        yield s


@pytest.fixture
async def model(server: WireServer) -> AsyncIterator[AnthropicModel]:
    async with AnthropicModel(
        model="claude-haiku-4-5", api_key=KEY, base_url=server.anthropic_base_url, timeout=5
    ) as m:
        yield m


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def retrying(model: AnthropicModel, sleeps: Sleeps, **policy: float) -> RetryingModel:
    return RetryingModel(model=model, policy=RetryPolicy(**policy), sleep=sleeps)  # type: ignore[arg-type]


async def test_text_answer(server: WireServer, model: AnthropicModel) -> None:
    server.reply(Reply(body=anthropic_message("Hello!")))
    response = await model.request(HELLO)
    assert (response.text, response.tool_calls, response.finish_reason) == ("Hello!", (), "stop")
    assert response.model == "claude-haiku-4-5-20251001"
    (seen,) = server.requests
    assert seen.path == "/v1/messages"
    assert KEY in (seen.headers.get("x-api-key", ""), seen.headers.get("authorization", "")[7:])
    assert seen.body == {
        "model": "claude-haiku-4-5",
        "max_tokens": 50,
        "system": "be brief",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }
    assert model.name == "anthropic:claude-haiku-4-5" and model.offline is False


async def test_tool_call_round_trip(server: WireServer, model: AnthropicModel) -> None:
    server.reply(
        Reply(
            body=anthropic_message(
                "Let me check.",
                tool_uses=[("toolu_1", "weather", {"city": "Oslo"}), ("toolu_2", "weather", {})],
                stop_reason="tool_use",
            )
        ),
        Reply(body=anthropic_message("Sunny in Oslo.")),
    )
    first = await model.request(
        ModelRequest(messages=(Message.user("weather in Oslo?"),), tools=(WEATHER,))
    )
    assert first.finish_reason == "tool_calls" and first.text == "Let me check."
    assert first.tool_calls == (
        ToolCall(id="toolu_1", name="weather", arguments='{"city": "Oslo"}'),
        ToolCall(id="toolu_2", name="weather", arguments="{}"),
    )
    assert server.requests[0].body["tools"] == [
        {"name": "weather", "description": "Weather for a city", "input_schema": WEATHER.parameters}
    ]

    a, b = first.tool_calls
    history = (
        Message.system("you know the weather"),
        Message.user("weather in Oslo?"),
        Message.assistant("Let me check.", (a, b)),
        Message.tool(a, "sunny"),
        Message.tool(b, "error: city is required"),
        Message.user("and be short"),
    )
    second = await model.request(ModelRequest(messages=history, tools=(WEATHER,)))
    assert second.text == "Sunny in Oslo."
    body = server.requests[1].body
    assert body["system"] == "you know the weather"
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "weather in Oslo?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}},
                {"type": "tool_use", "id": "toolu_2", "name": "weather", "input": {}},
            ],
        },
        {  # consecutive tool results (and the next user text) form one user turn
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "content": "error: city is required",
                },
                {"type": "text", "text": "and be short"},
            ],
        },
    ]


async def test_malformed_tool_arguments(server: WireServer, model: AnthropicModel) -> None:
    # a malformed call from another model, replayed in history, keeps its raw text
    broken = ToolCall(id="call_9", name="weather", arguments='{"city": "Oslo",,')
    server.reply(Reply(body=anthropic_message("ok")))
    history = (Message.assistant("", (broken,)), Message.tool(broken, "error: bad JSON"))
    await model.request(ModelRequest(messages=(Message.user("go"), *history)))
    tool_use = server.requests[0].body["messages"][1]["content"][0]
    assert tool_use["input"] == {"_raw_arguments": broken.arguments}


async def test_usage_and_cost(server: WireServer) -> None:
    set_price("anthropic:podium-test-model", input=3.0, output=15.0)
    body = anthropic_message("ok", input_tokens=1_000, output_tokens=200)
    body["usage"]["cache_read_input_tokens"] = 500
    server.reply(Reply(body=body))
    async with AnthropicModel(
        model="podium-test-model", api_key=KEY, base_url=server.anthropic_base_url
    ) as m:
        response = await m.request(HELLO)
    assert (response.usage.input_tokens, response.usage.output_tokens) == (1_500, 200)
    assert response.usage.cost_usd == pytest.approx((1_500 * 3.0 + 200 * 15.0) / 1e6)


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("refusal", "content_filter"),
        ("pause_turn", "other"),
    ],
)
async def test_stop_reasons(
    server: WireServer, model: AnthropicModel, stop_reason: str, finish: str
) -> None:
    server.reply(Reply(body=anthropic_message("", stop_reason=stop_reason)))
    response = await model.request(HELLO)  # empty or cut answers are not errors here
    assert (response.text, response.finish_reason) == ("", finish)


async def test_schema_and_temperature_are_not_sent(
    server: WireServer, model: AnthropicModel
) -> None:
    server.reply(Reply(body=anthropic_message('{"a": 1}')))
    schema = {"type": "object"}
    await model.request(
        ModelRequest(messages=(Message.user("json"),), output_schema=schema, temperature=0.2)
    )
    # the schema is in the prompt; API version 2026-10-21 rejects sampling parameters
    assert set(server.requests[0].body) == {"model", "max_tokens", "messages"}


async def test_429_retry_after_seconds_then_success(
    server: WireServer, model: AnthropicModel
) -> None:
    server.reply(
        Reply(
            status=429, body=error_body("rate", "rate_limit_error"), headers={"Retry-After": "1"}
        ),
        Reply(body=anthropic_message("done")),
    )
    sleeps = Sleeps()
    assert (await retrying(model, sleeps).request(HELLO)).text == "done"
    assert sleeps.waits == [pytest.approx(1.0)]
    assert len(server.requests) == 2


async def test_429_retry_after_http_date(server: WireServer, model: AnthropicModel) -> None:
    when = formatdate(time.time() + 3, usegmt=True)
    server.reply(
        Reply(status=429, body=error_body("rate"), headers={"Retry-After": when}),
        Reply(body=anthropic_message("done")),
    )
    sleeps = Sleeps()
    assert (await retrying(model, sleeps).request(HELLO)).text == "done"
    (wait,) = sleeps.waits
    assert 1.0 < wait <= 3.0


async def test_overloaded_500_retried_then_surfaced(
    server: WireServer, model: AnthropicModel
) -> None:
    server.reply(*[Reply(status=500, body=error_body("Overloaded", "api_error"))] * 3)
    sleeps = Sleeps()
    with pytest.raises(ProviderError) as info:
        await retrying(model, sleeps, max_attempts=3).request(HELLO)
    assert (info.value.status, info.value.attempts, info.value.retryable) == (500, 3, True)
    assert len(server.requests) == 3 and len(sleeps.waits) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_client_errors_fail_at_once_without_leaking_the_key(
    server: WireServer, model: AnthropicModel, status: int
) -> None:
    server.reply(Reply(status=status, body=error_body(f"invalid x-api-key {KEY}")))
    sleeps = Sleeps()
    with pytest.raises(ProviderError) as info:
        await retrying(model, sleeps).request(HELLO)
    error = info.value
    assert (error.status, error.retryable, error.attempts) == (status, False, 1)
    assert len(server.requests) == 1 and sleeps.waits == []
    assert KEY not in str(error) and "0123456789abcdef" not in repr(error.args)
    assert error.__cause__ is None and error.__context__ is None


async def test_timeout_is_retryable_without_status(
    server: WireServer, model: AnthropicModel
) -> None:
    server.reply(Reply(delay=1.0, body=anthropic_message("too late")))
    with pytest.raises(ProviderError) as info:
        await retrying(model, Sleeps(), max_attempts=1, call_timeout=0.3).request(HELLO)
    assert (info.value.status, info.value.retryable) == (None, True)


async def test_sdk_timeout_and_cut_connection(server: WireServer) -> None:
    server.reply(
        Reply(delay=1.0, body=anthropic_message("too late")),
        Reply(raw=json.dumps(anthropic_message("cut")).encode(), cut_at=25),
    )
    async with AnthropicModel(
        model="claude-haiku-4-5", api_key=KEY, base_url=server.anthropic_base_url, timeout=0.3
    ) as m:
        for _ in range(2):
            with pytest.raises(ProviderError) as info:
                await m.request(HELLO)
            assert (info.value.status, info.value.retryable) == (None, True)


def test_missing_key_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        AnthropicModel(model="claude-haiku-4-5")


def test_resolve_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    model = resolve_model("anthropic:claude-sonnet-4-5")
    assert isinstance(model, CircuitBreakerModel)
    assert isinstance(model.model, RetryingModel) and isinstance(model.model.model, AnthropicModel)
    assert model.name == "anthropic:claude-sonnet-4-5"


def test_missing_sdk_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "anthropic", None)
    with pytest.raises(ConfigError, match=r"pip install 'podium\[anthropic\]'"):
        AnthropicModel(model="claude-haiku-4-5", api_key=KEY)
