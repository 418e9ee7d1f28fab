"""OpenAIModel against a local Chat Completions server, through the real SDK HTTP path."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterator
from email.utils import formatdate

import pytest
from wire_server import Reply, WireServer, error_body, openai_completion

from podium.errors import ConfigError, IncompleteResponse, ProviderError
from podium.messages import Message, ToolCall, ToolSpec
from podium.models import CircuitBreakerModel
from podium.models._base import ModelRequest
from podium.models._openai import OpenAIModel
from podium.models._pricing import set_price
from podium.models._resolve import default_model_name, resolve_model
from podium.models._retry import RetryingModel, RetryPolicy

KEY = "sk-test-openai-0123456789abcdef"
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
async def model(server: WireServer) -> AsyncIterator[OpenAIModel]:
    async with OpenAIModel(
        model="gpt-4o-mini", api_key=KEY, base_url=server.openai_base_url, timeout=5
    ) as m:
        yield m


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def retrying(model: OpenAIModel, sleeps: Sleeps, **policy: float) -> RetryingModel:
    return RetryingModel(model=model, policy=RetryPolicy(**policy), sleep=sleeps)  # type: ignore[arg-type]


async def test_text_answer(server: WireServer, model: OpenAIModel) -> None:
    server.reply(Reply(body=openai_completion("Hello!")))
    response = await model.request(HELLO)
    assert (response.text, response.tool_calls, response.finish_reason) == ("Hello!", (), "stop")
    assert response.model == "gpt-4o-mini-2024-07-18"
    (seen,) = server.requests
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["authorization"] == f"Bearer {KEY}"
    assert seen.body["model"] == "gpt-4o-mini"
    assert seen.body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]
    # a custom base URL means an OpenAI-compatible server: the widely known name
    assert seen.body["max_tokens"] == 50
    assert "tools" not in seen.body and "temperature" not in seen.body
    assert model.name == "openai:gpt-4o-mini" and model.offline is False


async def test_tool_call_round_trip(server: WireServer, model: OpenAIModel) -> None:
    server.reply(
        Reply(
            body=openai_completion(
                None,
                tool_calls=[("call_1", "weather", '{"city": "Oslo"}')],
                finish_reason="tool_calls",
            )
        ),
        Reply(body=openai_completion("It is sunny.")),
    )
    first = await model.request(
        ModelRequest(messages=(Message.user("weather in Oslo?"),), tools=(WEATHER,))
    )
    assert first.finish_reason == "tool_calls" and first.text == ""
    assert first.tool_calls == (
        ToolCall(id="call_1", name="weather", arguments='{"city": "Oslo"}'),
    )
    assert server.requests[0].body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "Weather for a city",
                "parameters": WEATHER.parameters,
            },
        }
    ]

    call = first.tool_calls[0]
    history = (
        Message.user("weather in Oslo?"),
        Message.assistant("", (call,)),
        Message.tool(call, "sunny, 21C"),
    )
    second = await model.request(ModelRequest(messages=history, tools=(WEATHER,)))
    assert second.text == "It is sunny."
    assert server.requests[1].body["messages"] == [
        {"role": "user", "content": "weather in Oslo?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21C"},
    ]


async def test_malformed_tool_arguments_pass_through(
    server: WireServer, model: OpenAIModel
) -> None:
    broken = '{"city": "Oslo",, trailing'
    server.reply(Reply(body=openai_completion(None, tool_calls=[("c9", "weather", broken)])))
    response = await model.request(HELLO)
    assert response.tool_calls[0].arguments == broken
    # "stop" with tool calls (as some compatible servers say) still reads as a tool turn
    assert response.finish_reason == "tool_calls"


async def test_usage_and_cost(server: WireServer) -> None:
    set_price("openai:podium-test-model", input=2.0, output=8.0)
    server.reply(Reply(body=openai_completion("ok", prompt_tokens=1_000, completion_tokens=500)))
    async with OpenAIModel(
        model="podium-test-model", api_key=KEY, base_url=server.openai_base_url, provider="vllm"
    ) as m:
        response = await m.request(HELLO)
    assert m.name == "vllm:podium-test-model"  # prices still come from openai:MODEL
    assert (response.usage.input_tokens, response.usage.output_tokens) == (1_000, 500)
    assert response.usage.cost_usd == pytest.approx(0.006)


async def test_structured_output_and_options(server: WireServer, model: OpenAIModel) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    server.reply(Reply(body=openai_completion('{"answer": "4"}', finish_reason="length")))
    request = ModelRequest(
        messages=(Message.user("2+2?"),),
        output_schema=schema,
        output_name="Math Answer",
        temperature=0.0,
    )
    response = await model.request(request)
    assert response.finish_reason == "length"  # not an error here: the engine decides
    body = server.requests[0].body
    assert body["temperature"] == 0.0
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Math_Answer", "schema": schema, "strict": False},
    }


async def test_429_retry_after_seconds_then_success(server: WireServer, model: OpenAIModel) -> None:
    server.reply(
        Reply(status=429, body=error_body("slow down"), headers={"Retry-After": "1"}),
        Reply(body=openai_completion("done")),
    )
    sleeps = Sleeps()
    response = await retrying(model, sleeps).request(HELLO)
    assert response.text == "done"
    assert sleeps.waits == [pytest.approx(1.0)]
    assert len(server.requests) == 2


async def test_429_retry_after_http_date(server: WireServer, model: OpenAIModel) -> None:
    when = formatdate(time.time() + 3, usegmt=True)
    server.reply(
        Reply(status=429, body=error_body("slow down"), headers={"Retry-After": when}),
        Reply(body=openai_completion("done")),
    )
    sleeps = Sleeps()
    assert (await retrying(model, sleeps).request(HELLO)).text == "done"
    (wait,) = sleeps.waits
    assert 1.0 < wait <= 3.0  # the date has whole seconds


async def test_retry_after_ms_header(server: WireServer, model: OpenAIModel) -> None:
    server.reply(Reply(status=503, body={}, headers={"retry-after-ms": "250", "Retry-After": "9"}))
    with pytest.raises(ProviderError) as info:
        await model.request(HELLO)
    assert info.value.retry_after == pytest.approx(0.25)
    assert info.value.retryable and info.value.status == 503


async def test_500_retried_then_surfaced(server: WireServer, model: OpenAIModel) -> None:
    server.reply(*[Reply(status=500, body=error_body("boom", "server_error"))] * 3)
    sleeps = Sleeps()
    with pytest.raises(ProviderError) as info:
        await retrying(model, sleeps, max_attempts=3).request(HELLO)
    error = info.value
    assert (error.status, error.attempts, error.retryable) == (500, 3, True)
    assert "boom" in str(error)
    assert len(server.requests) == 3 and len(sleeps.waits) == 2


async def test_401_fails_at_once_without_leaking_the_key(
    server: WireServer, model: OpenAIModel
) -> None:
    # servers echo request data back; the key must not survive into podium's error
    server.reply(Reply(status=401, body=error_body(f"Incorrect API key provided: {KEY}")))
    sleeps = Sleeps()
    with pytest.raises(ProviderError) as info:
        await retrying(model, sleeps).request(HELLO)
    error = info.value
    assert (error.status, error.retryable, error.attempts) == (401, False, 1)
    assert len(server.requests) == 1 and sleeps.waits == []
    assert KEY not in str(error) and KEY not in repr(error.args)
    assert error.__cause__ is None and error.__context__ is None
    assert "check the API key" in str(error)


async def test_timeout_is_retryable_without_status(server: WireServer, model: OpenAIModel) -> None:
    server.reply(Reply(delay=1.0, body=openai_completion("too late")))
    policy = {"max_attempts": 1, "call_timeout": 0.3}
    started = time.monotonic()
    with pytest.raises(ProviderError) as info:
        await retrying(model, Sleeps(), **policy).request(HELLO)
    assert time.monotonic() - started < 0.9
    assert (info.value.status, info.value.retryable) == (None, True)


async def test_sdk_timeout_is_retryable_without_status(server: WireServer) -> None:
    server.reply(Reply(delay=1.0, body=openai_completion("too late")))
    async with OpenAIModel(
        model="gpt-4o-mini", api_key=KEY, base_url=server.openai_base_url, timeout=0.3
    ) as m:
        with pytest.raises(ProviderError) as info:
            await m.request(HELLO)
    assert (info.value.status, info.value.retryable) == (None, True)
    assert "timed out" in str(info.value)


async def test_connection_cut_mid_response_is_retryable(
    server: WireServer, model: OpenAIModel
) -> None:
    body = json.dumps(openai_completion("a long answer")).encode()
    server.reply(Reply(raw=body, cut_at=40), Reply(raw=body[:40]))
    with pytest.raises(ProviderError) as cut:
        await model.request(HELLO)
    assert (cut.value.status, cut.value.retryable) == (None, True)
    with pytest.raises(IncompleteResponse) as truncated:
        await model.request(HELLO)
    assert truncated.value.retryable


def test_missing_key_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        OpenAIModel(model="gpt-4o-mini")


def test_resolve_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    model = resolve_model("openai:gpt-4o-mini", retry=RetryPolicy(max_attempts=2))
    assert isinstance(model, CircuitBreakerModel)
    assert isinstance(model.model, RetryingModel) and isinstance(model.model.model, OpenAIModel)
    assert model.name == "openai:gpt-4o-mini" and model.model.policy.max_attempts == 2
    assert resolve_model(model) is model
    assert resolve_model("scripted:demo").offline
    for bad in ("gpt-4o", "mistral:large", "openai:"):
        with pytest.raises(ConfigError, match="openai, anthropic, scripted"):
            resolve_model(bad)


def test_default_model_name(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("PODIUM_MODEL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    assert default_model_name() == "scripted:demo"
    monkeypatch.setenv("ANTHROPIC_API_KEY", "x")
    assert default_model_name() == "anthropic:claude-haiku-4-5"
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    assert default_model_name() == "openai:gpt-4o-mini"
    monkeypatch.setenv("PODIUM_MODEL", "anthropic:claude-sonnet-4-5")
    assert default_model_name() == "anthropic:claude-sonnet-4-5"


def test_openai_hosts_get_max_completion_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    # OpenAI rejects `max_tokens` for reasoning models; compatible servers know `max_tokens`
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    official = OpenAIModel(model="o3", api_key=KEY)
    assert official._params(HELLO)["max_completion_tokens"] == 50
    azure = OpenAIModel(model="o3", api_key=KEY, base_url="https://x.openai.azure.com/openai/v1")
    assert "max_tokens" not in azure._params(HELLO)


def test_real_network_is_blocked() -> None:
    with socket.socket() as sock, pytest.raises(RuntimeError, match="network blocked"):
        sock.connect(("192.0.2.1", 443))


def test_model_is_reusable_across_event_loops(server: WireServer) -> None:
    # run_sync starts a new loop per run; one resolved model must serve them all
    server.reply(Reply(body=openai_completion("one")), Reply(body=openai_completion("two")))
    model = OpenAIModel(model="gpt-4o-mini", api_key=KEY, base_url=server.openai_base_url)
    assert asyncio.run(model.request(HELLO)).text == "one"

    async def second() -> str:
        async with model:
            return (await model.request(HELLO)).text

    assert asyncio.run(second()) == "two"


def test_missing_sdk_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)
    with pytest.raises(ConfigError, match=r"pip install 'podium\[openai\]'"):
        OpenAIModel(model="gpt-4o-mini", api_key=KEY)


@pytest.mark.parametrize("url", ["localhost:11434/v1", "127.0.0.1:8000/v1", "api.example.com/v1"])
def test_base_url_without_scheme_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    # a typo, not a network failure: said at once, never retried as "connection failed"
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    with pytest.raises(ConfigError, match=r"OPENAI_BASE_URL\) must start with http://"):
        resolve_model("openai:llama3.1")
    monkeypatch.delenv("OPENAI_BASE_URL")
    with pytest.raises(ConfigError, match=r"must start with http://"):
        OpenAIModel(model="llama3.1", api_key=KEY, base_url=url)


async def test_content_sent_as_parts_is_read_as_text(
    server: WireServer, model: OpenAIModel
) -> None:
    # some compatible servers (Mistral's reasoning models, gateways) send a list of parts
    body = openai_completion(None)
    body["choices"][0]["message"]["content"] = [
        {"type": "thinking", "thinking": [{"type": "text", "text": "hmm"}]},
        {"type": "text", "text": "Hello, "},
        {"type": "text", "text": "Oslo ✓"},
    ]
    server.reply(Reply(body=body))
    response = await model.request(HELLO)
    assert response.text == "Hello, Oslo ✓"


@pytest.mark.parametrize("usage", ["missing", None])
async def test_unreported_usage_counts_the_worst_case_not_zero(
    server: WireServer, usage: str | None
) -> None:
    # a compatible server that reports no usage must not make calls free: budgets
    # settle on this usage, so it is the upper bound (prompt bytes, max_tokens)
    set_price("openai:podium-unreported", input=1.0, output=2.0)
    body = openai_completion("ok")
    if usage == "missing":
        del body["usage"]
    else:
        body["usage"] = None
    server.reply(Reply(body=body))
    request = ModelRequest(messages=(Message.user("ø" * 300),), max_tokens=40)
    async with OpenAIModel(
        model="podium-unreported", api_key=KEY, base_url=server.openai_base_url
    ) as m:
        response = await m.request(request)
    assert response.usage.input_tokens >= len(("ø" * 300).encode())
    assert response.usage.output_tokens == 40
    assert response.usage.cost_usd == pytest.approx(
        (response.usage.input_tokens * 1.0 + 40 * 2.0) / 1e6
    )


@pytest.mark.parametrize(("code", "retryable"), [(502, True), (400, False), (None, False)])
async def test_an_error_sent_with_http_200_keeps_its_message(
    server: WireServer, model: OpenAIModel, code: int | None, retryable: bool
) -> None:
    # some gateways answer 200 with an error body when the upstream model fails
    error: dict[str, object] = {"message": f"upstream failed (key {KEY})"}
    if code is not None:
        error["code"] = code
    server.reply(Reply(body={"error": error}))
    with pytest.raises(ProviderError) as info:
        await model.request(HELLO)
    assert "HTTP 200 with an error: upstream failed" in str(info.value)
    assert KEY not in str(info.value)
    assert (info.value.status, info.value.retryable) == (code, retryable)
