"""FallbackModel over the real openai/anthropic SDK paths, circuit breakers and an agent run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from wire_server import (
    Clock,
    Reply,
    WireServer,
    anthropic_message,
    error_body,
    no_sleep,
    openai_completion,
)

from podium import Agent, EventKind, MemoryStore
from podium.errors import AllModelsFailed, CircuitOpen, ConfigError, ProviderError
from podium.messages import Message
from podium.models import (
    CircuitBreaker,
    CircuitBreakerModel,
    FallbackModel,
    RetryingModel,
    resolve_model,
)
from podium.models._anthropic import AnthropicModel
from podium.models._base import ModelRequest
from podium.models._openai import OpenAIModel
from podium.models._retry import RetryPolicy
from podium.testing import ScriptedModel

OPENAI_KEY = "sk-test-openai-0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-test-0123456789abcdef"
HELLO = ModelRequest(messages=(Message.user("hi"),), max_tokens=20)


def fail(status: int, message: str = "upstream exploded") -> Reply:
    return Reply(status=status, body=error_body(message))


@pytest.fixture
def primary_server() -> Iterator[WireServer]:
    with WireServer() as s:
        yield s


@pytest.fixture
def backup_server() -> Iterator[WireServer]:
    with WireServer() as s:
        yield s


@pytest.fixture
async def openai(primary_server: WireServer) -> AsyncIterator[OpenAIModel]:
    async with OpenAIModel(
        model="gpt-4o-mini", api_key=OPENAI_KEY, base_url=primary_server.openai_base_url
    ) as m:
        yield m


@pytest.fixture
async def anthropic(backup_server: WireServer) -> AsyncIterator[AnthropicModel]:
    async with AnthropicModel(
        model="claude-haiku-4-5",
        api_key=ANTHROPIC_KEY,
        base_url=backup_server.anthropic_base_url,
    ) as m:
        yield m


def retrying(model: OpenAIModel | AnthropicModel, attempts: int = 2) -> RetryingModel:
    return RetryingModel(model=model, policy=RetryPolicy(max_attempts=attempts), sleep=no_sleep)


async def test_primary_500s_then_the_fallback_answers_and_is_named(
    primary_server: WireServer,
    backup_server: WireServer,
    openai: OpenAIModel,
    anthropic: AnthropicModel,
) -> None:
    primary_server.reply(fail(500), fail(500))
    backup_server.reply(Reply(body=anthropic_message("from the backup", input_tokens=7)))
    model = FallbackModel(retrying(openai), retrying(anthropic))

    response = await model.request(HELLO)

    assert response.text == "from the backup" and response.usage.input_tokens == 7
    assert response.model == "anthropic:claude-haiku-4-5"
    assert len(primary_server.requests) == 2  # its own retries, spent first
    assert [r.path for r in backup_server.requests] == ["/v1/messages"]
    assert model.name == "fallback:openai:gpt-4o-mini,anthropic:claude-haiku-4-5"
    assert model.offline is False


async def test_the_primary_answers_when_it_can(
    primary_server: WireServer, openai: OpenAIModel
) -> None:
    primary_server.reply(Reply(body=openai_completion("primary")))
    backup = ScriptedModel(["never"], name="backup")
    response = await FallbackModel(retrying(openai), backup).request(HELLO)
    assert (response.text, response.model) == ("primary", "openai:gpt-4o-mini")
    assert backup.requests == []


async def test_open_circuit_goes_straight_to_the_fallback_until_the_cooldown(
    primary_server: WireServer, openai: OpenAIModel
) -> None:
    clock = Clock()
    breaker = CircuitBreaker("openai", failure_threshold=2, cooldown=30, clock=clock)
    backup = ScriptedModel(fn=lambda request: "backup answer", name="backup")
    model = FallbackModel(CircuitBreakerModel(model=retrying(openai), breaker=breaker), backup)
    primary_server.reply(*[fail(503) for _ in range(4)])

    for _ in range(4):
        assert (await model.request(HELLO)).model == "scripted:backup"
    assert len(primary_server.requests) == 4  # 2 failed calls x 2 attempts, then skipped
    clock.now += 29
    await model.request(HELLO)
    assert len(primary_server.requests) == 4

    clock.now += 1
    primary_server.reply(Reply(body=openai_completion("recovered")))
    response = await model.request(HELLO)  # the half-open trial goes through
    assert (response.text, response.model) == ("recovered", "openai:gpt-4o-mini")
    assert len(primary_server.requests) == 5 and len(backup.requests) == 5


async def test_every_model_failing_raises_all_models_failed(
    primary_server: WireServer,
    backup_server: WireServer,
    openai: OpenAIModel,
    anthropic: AnthropicModel,
) -> None:
    primary_server.reply(fail(500, f"key {OPENAI_KEY} broke"), fail(500))
    backup_server.reply(fail(400, "prompt is too long"))
    model = FallbackModel(retrying(openai), retrying(anthropic))

    with pytest.raises(AllModelsFailed) as info:
        await model.request(HELLO)

    error = info.value
    assert error.code == "all_models_failed" and isinstance(error, ProviderError)
    assert [(e.provider, e.status, e.attempts) for e in error.errors] == [
        ("openai", 500, 2),
        ("anthropic", 400, 1),
    ]
    assert error.attempts == 3 and error.retryable  # the 500 may pass on a later try
    text = str(error)
    assert "openai:gpt-4o-mini" in text and "prompt is too long" in text
    assert OPENAI_KEY not in text and ANTHROPIC_KEY not in text


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_errors_are_raised_not_hidden(
    primary_server: WireServer, openai: OpenAIModel, status: int
) -> None:
    primary_server.reply(fail(status, "invalid api key"))
    backup = ScriptedModel(["never"], name="backup")
    with pytest.raises(ProviderError) as info:
        await FallbackModel(retrying(openai), backup).request(HELLO)
    assert info.value.status == status and not isinstance(info.value, AllModelsFailed)
    assert backup.requests == []


async def test_a_custom_policy_decides_what_falls_back() -> None:
    circuit = CircuitBreaker(failure_threshold=1, clock=Clock())
    circuit.record_failure()
    primary = CircuitBreakerModel(model=ScriptedModel(["never"], name="a"), breaker=circuit)
    only_outages = FallbackModel(
        primary,
        ScriptedModel(["backup"], name="b"),
        fall_back_on=lambda error: not isinstance(error, CircuitOpen),
    )
    with pytest.raises(CircuitOpen):
        await only_outages.request(HELLO)


async def test_nested_fallbacks_name_the_innermost_answer() -> None:
    inner = FallbackModel(ScriptedModel(fn=lambda r: "deep", name="deep"))
    tripped = CircuitBreaker(failure_threshold=1, clock=Clock())
    tripped.record_failure()
    failing = CircuitBreakerModel(model=ScriptedModel(["never"], name="down"), breaker=tripped)
    response = await FallbackModel(failing, inner).request(HELLO)
    assert response.model == "scripted:deep"
    assert FallbackModel(inner, "scripted:demo").offline is True


def test_resolve_model_turns_a_list_into_a_fallback() -> None:
    model = resolve_model(["scripted:first", ScriptedModel(name="second")])
    assert isinstance(model, FallbackModel)
    assert model.name == "fallback:scripted:first,scripted:second"
    with pytest.raises(ConfigError, match="resolve each one"):
        resolve_model(["scripted:a", "scripted:b"], api_key="sk-x")
    with pytest.raises(ConfigError, match="at least one"):
        resolve_model([])


async def test_an_agent_run_completes_on_the_fallback_and_records_it(
    primary_server: WireServer, openai: OpenAIModel
) -> None:
    primary_server.reply(*[fail(502) for _ in range(2)])
    backup = ScriptedModel(["the fallback's answer"], name="backup")
    agent = Agent("helper", model=FallbackModel(retrying(openai), backup))
    store = MemoryStore()

    result = await agent.run("say something", store=store)

    assert result.ok and result.output == "the fallback's answer"
    assert len(primary_server.requests) == 2
    events = await store.events(result.run_id)
    (response,) = [e for e in events if e.kind is EventKind.MODEL_RESPONSE]
    assert response.payload["model"] == "scripted:backup"
    assert [e for e in events if e.kind is EventKind.ERROR] == []


async def test_usage_is_counted_under_the_model_that_answered(
    primary_server: WireServer, openai: OpenAIModel
) -> None:
    # the server names what it served; an Ollama tag holds a colon like a podium name
    body = openai_completion("hello")
    body["model"] = "llama3.1:8b"
    primary_server.reply(Reply(body=body))
    direct = await Agent("direct", model=openai).run("hi", store=MemoryStore())
    assert set(direct.usage.per_model) == {"openai:gpt-4o-mini"}

    primary_server.reply(*[fail(502) for _ in range(2)])
    backup = ScriptedModel(["the fallback's answer"], name="backup")
    chained = Agent("helper", model=FallbackModel(retrying(openai), backup))
    result = await chained.run("say something", store=MemoryStore())
    assert set(result.usage.per_model) == {"scripted:backup"}
