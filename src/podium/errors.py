"""Every error podium raises, in one tree.

```
PodiumError                      code "podium"
├── ConfigError                  "config"        bad arguments, unknown provider, missing key
│   └── SpecError                "spec"          a YAML spec problem, with file:line:column
├── ProviderError                "provider"      a model API call failed (status, attempts)
│   └── IncompleteResponse       "incomplete"    empty or length-cut answer, truncated stream
├── ToolError                    "tool"          a tool failed in a way the model cannot fix
├── OutputValidationError        "output"        structured output still invalid after repair
├── PlanError                    "plan"          the planner's plan stayed invalid
├── StoreError                   "store"         the run store could not read or write
└── RunError                     "run"           a run failed; carries run id and usage so far
```

Guard stops (budget, loops, limits) are not exceptions: a run stopped by a guard
returns a `Result` with a typed `stop_reason`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from podium.result import RunUsage

__all__ = [
    "ConfigError",
    "IncompleteResponse",
    "OutputValidationError",
    "PlanError",
    "PodiumError",
    "ProviderError",
    "RunError",
    "SpecError",
    "StoreError",
    "ToolError",
]


class PodiumError(Exception):
    """Root of every podium error; `code` is stable and safe to match on."""

    code: ClassVar[str] = "podium"


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


class IncompleteResponse(ProviderError):
    """The model's answer was empty, cut at the token limit, or the stream broke off."""

    code = "incomplete"


class ToolError(PodiumError):
    """A tool could not be used (bad definition, or too many malformed calls in a row)."""

    code = "tool"


class OutputValidationError(PodiumError):
    """An agent's structured output failed validation, also after one repair round."""

    code = "output"


class PlanError(PodiumError):
    """The planner's plan was invalid and its one correction round did not fix it."""

    code = "plan"


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
