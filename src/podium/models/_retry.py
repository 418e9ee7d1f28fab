"""Retries with exponential backoff and jitter, honouring ``Retry-After``."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime

from podium.errors import ProviderError
from podium.models._base import Model, ModelRequest, ModelResponse

__all__ = ["RetryPolicy", "RetryingModel", "parse_retry_after"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How to retry a failing model call.

    Args:
        max_attempts: attempts in all, the first one included.
        base_delay: seconds before the first retry; doubled each time.
        max_delay: cap on one wait (also caps a server's ``Retry-After``).
        total_timeout: the whole call, retries and waits included, never takes
            longer than this many seconds.
        call_timeout: seconds one attempt may take before it counts as a timeout.
        jitter: fraction of random spread added to each wait (0 to 1).
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    total_timeout: float = 120.0
    call_timeout: float = 60.0
    jitter: float = 0.25

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if retry_after is not None:
            return float(min(max(retry_after, 0.0), self.max_delay))
        base = min(self.base_delay * 2.0 ** (attempt - 1), self.max_delay)
        return base * (1 + self.jitter * rng.random())


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return None if math.isnan(seconds) else max(seconds, 0.0)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # asctime or "-0000": HTTP dates are GMT, never local time
        when = when.replace(tzinfo=UTC)
    current = time.time() if now is None else now
    return max(when.timestamp() - current, 0.0)


Sleep = Callable[[float], Awaitable[None]]


@dataclass(slots=True, kw_only=True)
class RetryingModel:
    """Wraps a model so retryable failures (429, 5xx, timeouts) are retried.

    Non-retryable failures (400, 401, 403, ...) are raised at once. The raised
    `ProviderError` carries the number of attempts made.
    """

    model: Model
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Sleep = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)

    @property
    def name(self) -> str:
        """The wrapped model's name."""
        return self.model.name

    @property
    def offline(self) -> bool:
        """Whether the wrapped model is offline."""
        return self.model.offline

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Call the wrapped model, retrying as the policy allows."""
        policy = self.policy
        deadline = time.monotonic() + policy.total_timeout
        attempt = 0
        while True:
            attempt += 1
            limit = min(policy.call_timeout, max(deadline - time.monotonic(), 0.001))
            try:
                async with asyncio.timeout(limit):
                    return await self.model.request(request)
            except TimeoutError:
                error = self._timeout_error(attempt, limit)
            except ProviderError as exc:
                exc.attempts = attempt
                error = exc
            if not error.retryable or attempt >= policy.max_attempts:
                raise error
            wait = policy.delay(attempt, error.retry_after, self.rng)
            if time.monotonic() + wait >= deadline:
                raise error
            await self.sleep(wait)

    def _timeout_error(self, attempt: int, limit: float) -> ProviderError:
        provider, _, model = self.model.name.partition(":")
        return ProviderError(
            f"no answer within {round(limit, 2):g}s",
            provider=provider,
            model=model,
            attempts=attempt,
            retryable=True,
        )
