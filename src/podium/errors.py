"""Every error podium raises, in one tree.

```
PodiumError                      code "podium"
├── ConfigError                  "config"        bad arguments, unknown provider, missing key
│   └── SpecError                "spec"          a YAML spec problem, with file:line:column
├── ProviderError                "provider"      a model API call failed (status, attempts)
│   ├── IncompleteResponse       "incomplete"    empty or length-cut answer, truncated stream
│   ├── CircuitOpen              "circuit_open"  not called: the provider's circuit breaker is open
│   └── AllModelsFailed          "all_models_failed"  every model of a FallbackModel failed
├── ToolError                    "tool"          a tool failed in a way the model cannot fix
├── OutputValidationError        "output"        structured output still invalid after repair
├── PlanError                    "plan"          the planner's plan stayed invalid
├── BlackboardError              "blackboard"    a write to an undeclared key, a bad read
│   └── BlackboardConflict       "conflict"      a compare-and-set write lost the race
├── HandoffError                 "handoff"       a transfer to an agent that is not allowed
├── JudgeError                   "judge"         an LLM-judge checker gave no usable verdict
├── StoreError                   "store"         the run store could not read or write
├── RunError                     "run"           a run failed; carries run id and usage so far
│   └── RunBusy                  "run_busy"      another live process holds the run's lease
└── ReplayDivergence             "replay_divergence"  a resumed step's request changed
```

Guard stops (budget, loops, limits) are not exceptions: a run stopped by a guard
returns a `Result` with a typed `stop_reason`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from podium.models._base import Usage
    from podium.result import RunUsage

__all__ = [
    "AllModelsFailed",
    "BlackboardConflict",
    "BlackboardError",
    "CircuitOpen",
    "ConfigError",
    "HandoffError",
    "IncompleteResponse",
    "JudgeError",
    "OutputValidationError",
    "PlanError",
    "PodiumError",
    "ProviderError",
    "ReplayDivergence",
    "RunBusy",
    "RunError",
    "SpecError",
    "StoreError",
    "ToolError",
]


class PodiumError(Exception):
    """Root of every podium error; `code` is stable and safe to match on."""

    code: ClassVar[str] = "podium"

    def __reduce__(self) -> tuple[Any, ...]:
        # The default calls `cls(*args)`, which fails for keyword-only fields:
        # rebuild from the same args and restore the fields as they are.
        return _rebuild, (type(self), self.args), self.__dict__


def _rebuild(cls: type[PodiumError], args: tuple[Any, ...]) -> PodiumError:
    """An unpickled error: `cls` with `args`, its `__init__` skipped (the fields follow)."""
    return cls.__new__(cls, *args)


class ConfigError(PodiumError):
    """Invalid configuration: arguments, model strings, missing provider keys."""

    code = "config"


class SpecError(ConfigError):
    """A team spec file is invalid; names the file, line, column and key."""

    code = "spec"

    def __init__(
        self,
        message: str,
        *,
        file: str,
        line: int | None = None,
        column: int | None = None,
        key: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.message = message
        super().__init__(str(self))

    @property
    def location(self) -> str:
        """`file:line:column`, as far as it is known."""
        loc = self.file
        if self.line is not None:
            loc += f":{self.line}"
            if self.column is not None:
                loc += f":{self.column}"
        return loc

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class ProviderError(PodiumError):
    """A model provider call failed.

    Attributes:
        provider: provider name, e.g. ``openai``.
        model: the model name requested.
        status: HTTP status when there was one (None for timeouts, connection errors).
        attempts: how many attempts were made, including the last one.
        retryable: whether the failure class is worth retrying.
        retry_after: seconds the server asked to wait, when it said so.
    """

    code = "provider"

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        model: str,
        status: int | None = None,
        attempts: int = 1,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self.status = status
        self.attempts = attempts
        self.retryable = retryable
        self.retry_after = retry_after
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        status = f"HTTP {self.status}" if self.status is not None else "no HTTP status"
        return (
            f"{self.provider}:{self.model} failed ({status}, "
            f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}): {self.message}"
        )

    def __repr__(self) -> str:  # from the fields: `attempts` grows as a retrier retries
        return f"{type(self).__name__}({str(self)!r})"


class IncompleteResponse(ProviderError):
    """The model's answer was empty, cut at the token limit, or the stream broke off."""

    code = "incomplete"


class CircuitOpen(ProviderError):
    """The model was not called: its provider failed repeatedly and is cooling down.

    Never retryable by `RetryingModel`; `retry_after` is the time left until the
    breaker lets a trial call through. `attempts` is 0.
    """

    code = "circuit_open"


class AllModelsFailed(ProviderError):
    """Every model of a `FallbackModel` failed; `errors` holds each one's error, in order.

    `retryable` is true when any of them was; `attempts` is their sum. The message
    lists each model with its status and (already scrubbed) error text.
    """

    code = "all_models_failed"

    def __init__(self, errors: Sequence[ProviderError], *, provider: str, model: str) -> None:
        self.errors = tuple(errors)
        waits = [e.retry_after for e in self.errors if e.retry_after is not None]
        super().__init__(
            "; ".join(f"[{i}] {e}" for i, e in enumerate(self.errors, 1)),
            provider=provider,
            model=model,
            attempts=sum(e.attempts for e in self.errors),
            retryable=any(e.retryable for e in self.errors),
            retry_after=min(waits) if waits else None,
        )

    def __str__(self) -> str:
        return (
            f"all {len(self.errors)} models of {self.provider}:{self.model} failed: {self.message}"
        )


class ToolError(PodiumError):
    """A tool could not be used (bad definition, or too many malformed calls in a row)."""

    code = "tool"


class OutputValidationError(PodiumError):
    """An agent's structured output failed validation, also after one repair round."""

    code = "output"


class PlanError(PodiumError):
    """The planner's plan was invalid and its one correction round did not fix it."""

    code = "plan"


class BlackboardError(PodiumError):
    """A blackboard write was refused (undeclared key) or a read was invalid."""

    code = "blackboard"


class BlackboardConflict(BlackboardError):
    """A compare-and-set write expected an older version than the current one."""

    code = "conflict"


class HandoffError(PodiumError):
    """An agent tried to hand off to an agent it may not hand off to."""

    code = "handoff"


class JudgeError(PodiumError):
    """An LLM-judge checker (``podium eval``) got no usable verdict from its model.

    Attributes:
        usage: what the judge's call cost anyway (None if unknown).
    """

    code = "judge"

    def __init__(self, message: str, *, usage: Usage | None = None) -> None:
        super().__init__(message)
        self.usage = usage


class StoreError(PodiumError):
    """The run store failed to read or write."""

    code = "store"


class RunError(PodiumError):
    """A run failed; carries the run id and the usage spent until the failure."""

    code = "run"

    def __init__(self, message: str, *, run_id: str, usage: RunUsage | None = None) -> None:
        self.run_id = run_id
        self.usage = usage
        super().__init__(f"run {run_id}: {message}")


class RunBusy(RunError):
    """Another live process is running (holds the lease of) this run."""

    code = "run_busy"


class ReplayDivergence(PodiumError):
    """On resume, a recorded step's request differs from the one made now.

    Attributes:
        step: the step path where the run diverged.
    """

    code = "replay_divergence"

    def __init__(self, message: str, *, step: str) -> None:
        self.step = step
        super().__init__(message)
