"""The `RunStore` protocol and the run record it keeps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from podium.events import Event

__all__ = ["RunRecord", "RunStore"]


@dataclass(slots=True, kw_only=True)
class RunRecord:
    """One run, as listed by `podium runs`.

    Attributes:
        run_id: unique id.
        name: the team or agent that ran.
        task: the task text.
        status: ``running`` or a `StopReason` value once finished.
        created_at: start, seconds since the epoch.
        ended_at: end, when finished.
        output: the final output as text (JSON for structured outputs).
        error: the error message when the run failed.
        usage: the `RunUsage` in its dict form.
        model: the model(s) used, for display.
        offline: true when only offline (scripted) models answered.
    """

    run_id: str
    name: str
    task: str
    status: str = "running"
    created_at: float = 0.0
    ended_at: float | None = None
    output: str | None = None
    error: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    model: str = ""
    offline: bool = False


@runtime_checkable
class RunStore(Protocol):
    """Where runs and their event logs live.

    `append` returns only once the events are durable: the engine relies on it
    to record a step before its result is used.
    """

    async def create_run(self, run: RunRecord) -> None:
        """Record a new run."""
        ...

    async def append(self, events: Sequence[Event]) -> None:
        """Append events (with their `seq` set) durably, all or none."""
        ...

    async def finish_run(self, run: RunRecord) -> None:
        """Store the final status, output, error and usage of `run`."""
        ...

    async def get_run(self, run_id: str) -> RunRecord | None:
        """The run with this id, or the only run whose id starts with it."""
        ...

    async def list_runs(self, limit: int = 50) -> list[RunRecord]:
        """The most recent runs, newest first."""
        ...

    async def events(self, run_id: str) -> list[Event]:
        """Every event of a run, in order."""
        ...

    async def close(self) -> None:
        """Release connections and threads."""
        ...
