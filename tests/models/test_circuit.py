"""CircuitBreaker and CircuitBreakerModel: fake clocks, and the real openai SDK path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from wire_server import Clock, Reply, WireServer, error_body, no_sleep, openai_completion

from podium.errors import CircuitOpen, ConfigError, ProviderError
from podium.messages import Message
from podium.models import CircuitBreaker, CircuitBreakerModel, CircuitState, RetryingModel
from podium.models._base import ModelRequest
from podium.models._circuit import endpoint_key
from podium.models._openai import OpenAIModel
from podium.models._resolve import resolve_model
from podium.models._retry import RetryPolicy
from podium.testing import ScriptedModel

KEY = "sk-test-openai-0123456789abcdef"
HELLO = ModelRequest(messages=(Message.user("hi"),), max_tokens=20)


def fail(status: int) -> Reply:
    return Reply(status=status, body=error_body(f"status {status}"))


@pytest.fixture
def server() -> Iterator[WireServer]:
    with WireServer() as s:
        yield s


@pytest.fixture
async def openai(server: WireServer) -> AsyncIterator[OpenAIModel]:
    async with OpenAIModel(
        model="gpt-4o-mini", api_key=KEY, base_url=server.openai_base_url, timeout=5
    ) as m:
        yield m


def guarded(model: OpenAIModel, breaker: CircuitBreaker) -> CircuitBreakerModel:
    retrying = RetryingModel(model=model, policy=RetryPolicy(max_attempts=2), sleep=no_sleep)
    return CircuitBreakerModel(model=retrying, breaker=breaker)


# --- CircuitBreaker ----------------------------------------------------------------------


def test_opens_after_threshold_and_half_opens_after_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker("p", failure_threshold=3, cooldown=30, clock=clock)
    for _ in range(2):
        assert breaker.admit() is None
        breaker.record_failure()
    assert breaker.state is CircuitState.CLOSED
    breaker.record_failure()
    assert breaker.state is CircuitState.OPEN
    assert breaker.admit() == 30.0
    clock.now += 29.5
    assert breaker.admit() == pytest.approx(0.5)
    clock.now += 0.5
    assert breaker.state is CircuitState.HALF_OPEN
    assert breaker.admit() is None  # the one trial call
    assert breaker.admit() == 0.0  # everyone else waits for its verdict
    breaker.record_failure()  # trial failed: open for another cooldown
    assert (breaker.state, breaker.admit()) == (CircuitState.OPEN, 30.0)
    clock.now += 30
    assert breaker.admit() is None
    breaker.record_success()
    assert (breaker.state, breaker.failures, breaker.admit()) == (CircuitState.CLOSED, 0, None)


def test_success_resets_the_streak() -> None:
    breaker = CircuitBreaker(failure_threshold=2, clock=Clock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is CircuitState.CLOSED


def test_abandoned_trial_lets_the_next_caller_try() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown=5, clock=clock)
    breaker.record_failure()
    clock.now += 5
    assert breaker.admit() is None
    breaker.record_abandoned()
    assert breaker.admit() is None


def test_endpoint_key_drops_credentials_and_query() -> None:
    key = endpoint_key("openai", "https://user:secret@example.com:8443/v1/?api_key=x")
    assert key == "openai@https://example.com:8443/v1"
    assert endpoint_key("anthropic", None) == "anthropic"


# --- CircuitBreakerModel over the real openai SDK ---------------------------------------


async def test_open_circuit_skips_the_provider_until_a_trial_succeeds(
    server: WireServer, openai: OpenAIModel
) -> None:
    clock = Clock()
    model = guarded(openai, CircuitBreaker("p", failure_threshold=2, cooldown=30, clock=clock))
    server.reply(*[fail(500) for _ in range(4)])
    for _ in range(2):
        with pytest.raises(ProviderError) as info:
            await model.request(HELLO)
        assert (info.value.status, info.value.attempts) == (500, 2)
    assert len(server.requests) == 4

    with pytest.raises(CircuitOpen) as opened:
        await model.request(HELLO)
    error = opened.value
    assert (error.code, error.retryable, error.attempts, error.status) == (
        "circuit_open",
        False,
        0,
        None,
    )
    assert error.retry_after == 30.0 and "openai:gpt-4o-mini" in str(error)
    clock.now += 29
    with pytest.raises(CircuitOpen):
        await model.request(HELLO)
    assert len(server.requests) == 4  # the provider was not called while open

    clock.now += 1
    server.reply(Reply(body=openai_completion("back")))
    assert (await model.request(HELLO)).text == "back"  # the half-open trial
    assert len(server.requests) == 5 and model.breaker.state is CircuitState.CLOSED


async def test_client_errors_do_not_open_the_circuit(
    server: WireServer, openai: OpenAIModel
) -> None:
    model = guarded(openai, CircuitBreaker(failure_threshold=1, clock=Clock()))
    server.reply(fail(400), fail(401), fail(404))
    for status in (400, 401, 404):
        with pytest.raises(ProviderError) as info:
            await model.request(HELLO)
        assert info.value.status == status and not isinstance(info.value, CircuitOpen)
    assert model.breaker.state is CircuitState.CLOSED and len(server.requests) == 3


async def test_a_cancelled_trial_does_not_wedge_the_breaker() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown=1, clock=clock)
    breaker.record_failure()
    clock.now += 1
    model = CircuitBreakerModel(model=ScriptedModel(["ok"], latency=0.01), breaker=breaker)
    task = asyncio.create_task(model.request(HELLO))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await model.request(HELLO)).text == "ok"
    assert breaker.state is CircuitState.CLOSED


# --- resolve_model wiring ----------------------------------------------------------------


async def test_resolved_models_share_their_endpoints_breaker(server: WireServer) -> None:
    policy = RetryPolicy(max_attempts=1)
    first = resolve_model("openai:gpt-4o-mini", base_url=server.openai_base_url, retry=policy)
    second = resolve_model("openai:gpt-4o", base_url=server.openai_base_url, retry=policy)
    other = resolve_model("openai:gpt-4o", base_url=server.url + "/other/v1", retry=policy)
    assert isinstance(first, CircuitBreakerModel) and isinstance(second, CircuitBreakerModel)
    assert isinstance(other, CircuitBreakerModel)
    assert isinstance(first.model, RetryingModel) and isinstance(first.model.model, OpenAIModel)
    assert first.breaker is second.breaker and other.breaker is not first.breaker
    try:
        server.reply(*[fail(503) for _ in range(5)])
        for _ in range(5):
            with pytest.raises(ProviderError):
                await first.request(HELLO)
        with pytest.raises(CircuitOpen):
            await second.request(HELLO)
        assert len(server.requests) == 5
        with pytest.raises(ProviderError) as info:  # another endpoint: still called
            await other.request(HELLO)
        assert not isinstance(info.value, CircuitOpen) and len(server.requests) == 6
    finally:
        for model in (first, second, other):
            assert isinstance(model, CircuitBreakerModel)
            assert isinstance(model.model, RetryingModel)
            inner = model.model.model
            assert isinstance(inner, OpenAIModel)
            await inner.aclose()


@pytest.mark.parametrize(("threshold", "cooldown"), [(0, 30.0), (3, -1.0)])
def test_a_breaker_that_could_never_work_is_a_config_error(threshold: int, cooldown: float) -> None:
    with pytest.raises(ConfigError, match="failure_threshold must be at least 1"):
        CircuitBreaker(failure_threshold=threshold, cooldown=cooldown)
