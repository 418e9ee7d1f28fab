"""Circuit breakers: stop calling a provider endpoint that keeps failing, for a while.

A `CircuitBreaker` is *closed* (calls go through) until `failure_threshold`
consecutive calls fail in a retryable way (429, 408/409, 5xx, timeouts, broken
connections — already retried by `RetryingModel`). It then *opens*: calls fail at
once with `CircuitOpen`, without touching the network, so an agent moves on to a
fallback model (or fails fast) instead of waiting through retries against a
provider that is down. After `cooldown` seconds it is *half-open*: one trial call
goes through (others still get `CircuitOpen`); its success closes the circuit,
its failure opens it for another cooldown.

Breakers are keyed by endpoint — provider and base URL — not by provider name
alone: ``openai`` at ``api.openai.com`` and ``openai`` pointing at a local Ollama
fail independently. `shared_breaker` hands every model of one endpoint the same
breaker within a process; `resolve_model` uses it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from podium.errors import CircuitOpen, ConfigError, ProviderError
from podium.models._base import Model, ModelRequest, ModelResponse

__all__ = [
    "CircuitBreaker",
    "CircuitBreakerModel",
    "CircuitState",
    "endpoint_key",
    "reset_shared_breakers",
    "shared_breaker",
]


class CircuitState(StrEnum):
    """Where a breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Counts consecutive retryable failures of one endpoint; see the module docstring.

    Thread-safe: runs on different event loops (``run_sync`` in threads) may share it.

    Args:
        key: what the breaker guards, shown in `CircuitOpen` messages.
        failure_threshold: consecutive retryable failures that open the circuit.
        cooldown: seconds the circuit stays open before a trial call.
        clock: monotonic seconds; inject a fake one in tests.
    """

    def __init__(
        self,
        key: str = "",
        *,
        failure_threshold: int = 5,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or cooldown < 0:
            raise ConfigError(
                f"circuit breaker: failure_threshold must be at least 1 and cooldown at least 0, "
                f"not {failure_threshold} and {cooldown}"
            )
        self.key = key
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_running = False

    @property
    def state(self) -> CircuitState:
        """The current state (an open circuit past its cooldown reads half-open)."""
        with self._lock:
            if self._state is CircuitState.OPEN and self._wait_left() <= 0:
                return CircuitState.HALF_OPEN
            return self._state

    @property
    def failures(self) -> int:
        """Consecutive retryable failures counted so far."""
        return self._failures

    def admit(self) -> float | None:
        """Ask to make a call: None when it may go ahead, else seconds to wait.

        A caller that was admitted must report back with `record_success`,
        `record_failure` or `record_abandoned`.
        """
        with self._lock:
            if self._state is CircuitState.CLOSED:
                return None
            left = self._wait_left()
            if left > 0:
                return left
            if self._trial_running:
                return 0.0  # someone else's trial call decides
            self._state, self._trial_running = CircuitState.HALF_OPEN, True
            return None

    def record_success(self) -> None:
        """The provider answered (a non-retryable error counts too): close the circuit."""
        with self._lock:
            self._state, self._failures, self._trial_running = CircuitState.CLOSED, 0, False

    def record_failure(self) -> None:
        """A retryable failure: count it, and open the circuit at the threshold."""
        with self._lock:
            self._failures += 1
            reopen = self._state is CircuitState.HALF_OPEN
            if reopen or (
                self._state is CircuitState.CLOSED and self._failures >= self.failure_threshold
            ):
                self._state, self._opened_at = CircuitState.OPEN, self._clock()
            self._trial_running = False

    def record_abandoned(self) -> None:
        """The call ended without a verdict (cancelled, a non-provider error)."""
        with self._lock:
            self._trial_running = False

    def reset(self) -> None:
        """Close the circuit and forget the failures."""
        self.record_success()

    def _wait_left(self) -> float:
        return self._opened_at + self.cooldown - self._clock()

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.key!r}, {self.state.value}, failures={self._failures})"


@dataclass(slots=True, kw_only=True)
class CircuitBreakerModel:
    """Wraps a model so it is not called while its breaker is open.

    Raises `CircuitOpen` (``retryable`` False, ``attempts`` 0) instead of calling;
    otherwise calls the wrapped model and tells the breaker how it went. Put it
    outside `RetryingModel`, so one failure is one call with its retries spent.
    """

    model: Model
    breaker: CircuitBreaker

    @property
    def name(self) -> str:
        """The wrapped model's name."""
        return self.model.name

    @property
    def offline(self) -> bool:
        """Whether the wrapped model is offline."""
        return self.model.offline

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Call the wrapped model unless the circuit is open.

        Raises:
            CircuitOpen: the breaker is open; the model was not called.
            ProviderError: the wrapped model failed.
        """
        wait = self.breaker.admit()
        if wait is not None:
            raise self._open_error(wait)
        try:
            response = await self.model.request(request)
        except ProviderError as exc:
            if exc.retryable:
                self.breaker.record_failure()
            else:  # the endpoint is up and answering; the request was the problem
                self.breaker.record_success()
            raise
        except BaseException:
            self.breaker.record_abandoned()
            raise
        self.breaker.record_success()
        return response

    def _open_error(self, wait: float) -> CircuitOpen:
        provider, _, model = self.model.name.partition(":")
        breaker = self.breaker
        when = f"a trial call in {wait:.1f}s" if wait > 0 else "a trial call is in progress"
        return CircuitOpen(
            f"not called: the circuit for {breaker.key or self.model.name} is open after "
            f"{breaker.failures} consecutive failures ({when})",
            provider=provider,
            model=model,
            attempts=0,
            retry_after=wait,
        )


_SHARED: dict[str, CircuitBreaker] = {}
_SHARED_LOCK = threading.Lock()


def endpoint_key(provider: str, base_url: str | None) -> str:
    """``provider@scheme://host:port/path`` (no credentials or query), or just `provider`."""
    if not base_url:
        return provider
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{provider}@{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"


def shared_breaker(key: str) -> CircuitBreaker:
    """The process-wide breaker for `key` (see `endpoint_key`), made on first use."""
    with _SHARED_LOCK:
        breaker = _SHARED.get(key)
        if breaker is None:
            breaker = _SHARED[key] = CircuitBreaker(key)
        return breaker


def reset_shared_breakers() -> None:
    """Close and forget every shared breaker (tests; or once a provider is known to be back)."""
    with _SHARED_LOCK:
        for breaker in _SHARED.values():
            breaker.reset()
        _SHARED.clear()
