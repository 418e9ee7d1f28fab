"""RetryPolicy, parse_retry_after and RetryingModel, with a fake model and a fake sleep."""

from __future__ import annotations

import asyncio
import random
import time
from email.utils import formatdate

import pytest

from podium.errors import ProviderError
from podium.messages import Message
from podium.models._base import ModelRequest, ModelResponse
from podium.models._retry import RetryingModel, RetryPolicy, parse_retry_after
from podium.models._sdk_errors import retry_after

REQUEST = ModelRequest(messages=(Message.user("hi"),))
NOW = 1_700_000_000.0


def failure(
    status: int | None = 500, *, retryable: bool = True, after: float | None = None
) -> ProviderError:
    return ProviderError(
        "boom", provider="fake", model="m", status=status, retryable=retryable, retry_after=after
    )


class FakeModel:
    """Answers from a script of responses and errors; can also hang."""

    def __init__(self, *script: ModelResponse | ProviderError, hang: float = 0.0) -> None:
        self.script = list(script)
        self.calls = 0
        self.hang = hang

    @property
    def name(self) -> str:
        return "fake:m"

    @property
    def offline(self) -> bool:
        return True

    async def request(self, request: ModelRequest) -> ModelResponse:
        self.calls += 1
        if self.hang:
            await asyncio.sleep(self.hang)
        item = self.script.pop(0)
        if isinstance(item, ProviderError):
            raise item
        return item


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def wrap(model: FakeModel, sleeps: Sleeps, **policy: float) -> RetryingModel:
    return RetryingModel(
        model=model, policy=RetryPolicy(**policy), sleep=sleeps, rng=random.Random(7)
    )


# --- RetryPolicy -------------------------------------------------------------------------


def test_delay_doubles_with_jitter_within_bounds() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=30.0, jitter=0.25)
    rng = random.Random(1)
    for attempt, base in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0)]:
        for _ in range(50):
            assert base <= policy.delay(attempt, None, rng) <= base * 1.25


def test_delay_is_capped_and_jitter_can_be_off() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0, jitter=0.0)
    rng = random.Random(1)
    assert [policy.delay(a, None, rng) for a in (1, 2, 3, 4, 10)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_delay_follows_retry_after_capped_without_jitter() -> None:
    policy = RetryPolicy(max_delay=10.0, jitter=0.5)
    rng = random.Random(1)
    assert policy.delay(1, 3.0, rng) == 3.0
    assert policy.delay(1, 60.0, rng) == 10.0
    assert policy.delay(1, -2.0, rng) == 0.0


# --- parse_retry_after -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        (" 2.5 ", 2.5),
        ("-4", 0.0),
        (formatdate(NOW + 30, usegmt=True), 30.0),
        (formatdate(NOW - 30, usegmt=True), 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@pytest.mark.parametrize(
    "value",
    [
        time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(NOW + 30)),  # asctime, no zone
        formatdate(NOW + 30).replace("+0000", "-0000"),  # RFC 2822's "zone unknown"
        formatdate(NOW + 30, usegmt=True),
    ],
)
def test_http_dates_are_gmt_whatever_the_local_zone(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    # HTTP dates are always GMT (RFC 9110); a zone-less one is not in local time
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert parse_retry_after(value, now=NOW) == 30.0
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("value", ["nan", "-nan", "NaN"])
def test_retry_after_that_is_not_a_number_is_ignored(value: str) -> None:
    assert parse_retry_after(value, now=NOW) is None


def test_retry_after_ms_that_is_not_a_number_falls_back_to_retry_after() -> None:
    assert retry_after({"retry-after-ms": "nan", "retry-after": "7"}) == 7.0
    assert retry_after({"retry-after-ms": "nan"}) is None
    assert retry_after({"retry-after-ms": "1500"}) == 1.5


# --- RetryingModel -----------------------------------------------------------------------


async def test_retries_until_success() -> None:
    model = FakeModel(failure(429), failure(503), ModelResponse(text="ok"))
    sleeps = Sleeps()
    response = await wrap(model, sleeps, base_delay=0.5, jitter=0.0).request(REQUEST)
    assert response.text == "ok"
    assert model.calls == 3 and sleeps.waits == [0.5, 1.0]


async def test_bounded_by_max_attempts() -> None:
    model = FakeModel(*[failure(500) for _ in range(5)])
    sleeps = Sleeps()
    with pytest.raises(ProviderError) as info:
        await wrap(model, sleeps, max_attempts=3).request(REQUEST)
    assert info.value.attempts == 3 and info.value.status == 500
    assert model.calls == 3 and len(sleeps.waits) == 2
    assert "3 attempts" in str(info.value) and "3 attempts" in repr(info.value)


async def test_non_retryable_fails_at_once() -> None:
    model = FakeModel(failure(401, retryable=False), ModelResponse(text="never"))
    sleeps = Sleeps()
    with pytest.raises(ProviderError) as info:
        await wrap(model, sleeps).request(REQUEST)
    assert (info.value.status, info.value.attempts) == (401, 1)
    assert model.calls == 1 and sleeps.waits == []


async def test_server_retry_after_is_honoured() -> None:
    model = FakeModel(failure(429, after=7.0), ModelResponse(text="ok"))
    sleeps = Sleeps()
    await wrap(model, sleeps, jitter=0.5).request(REQUEST)
    assert sleeps.waits == [7.0]


async def test_bounded_by_total_timeout() -> None:
    # the next wait would end past the deadline: give up now instead of sleeping
    model = FakeModel(failure(500), ModelResponse(text="too late"))
    sleeps = Sleeps()
    with pytest.raises(ProviderError) as info:
        await wrap(model, sleeps, total_timeout=1.0, base_delay=5.0).request(REQUEST)
    assert info.value.attempts == 1 and model.calls == 1 and sleeps.waits == []


async def test_a_long_retry_after_counts_against_the_deadline() -> None:
    model = FakeModel(failure(429, after=20.0), ModelResponse(text="too late"))
    sleeps = Sleeps()
    with pytest.raises(ProviderError):
        await wrap(model, sleeps, total_timeout=10.0).request(REQUEST)
    assert sleeps.waits == []


async def test_slow_attempt_becomes_a_retryable_timeout() -> None:
    model = FakeModel(ModelResponse(text="late"), ModelResponse(text="late"), hang=1.0)
    sleeps = Sleeps()
    with pytest.raises(ProviderError) as info:
        await wrap(model, sleeps, call_timeout=0.05, max_attempts=2).request(REQUEST)
    error = info.value
    assert (error.status, error.retryable, error.attempts) == (None, True, 2)
    assert (error.provider, error.model) == ("fake", "m")
    assert model.calls == 2 and len(sleeps.waits) == 1


async def test_total_timeout_caps_one_attempt() -> None:
    model = FakeModel(ModelResponse(text="late"), hang=1.0)
    with pytest.raises(ProviderError) as info:
        await wrap(model, Sleeps(), call_timeout=30.0, total_timeout=0.05).request(REQUEST)
    assert info.value.retryable and info.value.attempts == 1
    # the message names the limit that cut the attempt, not the 30s it never got
    assert "30s" not in str(info.value) and "0.05s" in str(info.value)


def test_name_and_offline_come_from_the_wrapped_model() -> None:
    wrapped = RetryingModel(model=FakeModel())
    assert (wrapped.name, wrapped.offline) == ("fake:m", True)
