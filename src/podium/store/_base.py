"""The `RunStore` protocol and the run record it keeps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from podium.errors import ConfigError
from podium.events import Event

__all__ = ["RunRecord", "RunStore", "check_ttl"]


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
    to commit a run's steps before anything leaves the run. Failures raise
    `StoreError`. A store may also offer ``append_nowait`` (see docs/stores.md).

    A lease makes one owner (a process, a worker) the only driver of a run
    until it expires: acquire it before resuming a run, renew it well before
    `ttl` runs out, release it when done.
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

    async def acquire_lease(self, run_id: str, owner: str, ttl: float) -> bool:
        """Take the lease on `run_id` for `ttl` seconds; atomic.

        Returns:
            True when the lease was free, expired, or already `owner`'s (then it
            is extended); False while another owner holds it.
        """
        ...

    async def renew_lease(self, run_id: str, owner: str, ttl: float) -> bool:
        """Extend `owner`'s lease to `ttl` seconds from now; False if it is not theirs."""
        ...

    async def release_lease(self, run_id: str, owner: str) -> None:
        """Give up `owner`'s lease on `run_id`; nothing happens if another owner holds it."""
        ...

    async def close(self) -> None:
        """Release connections and threads."""
        ...


def check_ttl(ttl: float) -> None:
    """Refuse a lease time that is not a positive number of seconds."""
    if not ttl > 0:
        raise ConfigError(f"a lease ttl must be a positive number of seconds, not {ttl!r}")
