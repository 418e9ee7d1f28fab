"""An in-memory run store, for tests and throwaway runs."""

from __future__ import annotations

import copy
from collections.abc import Sequence

from podium.events import Event
from podium.store._base import RunRecord

__all__ = ["MemoryStore"]


class MemoryStore:
    """Keeps runs in process memory; nothing survives the process."""

    def __init__(self) -> None:
        self._runs: dict[str, RunRecord] = {}
        self._events: dict[str, list[Event]] = {}

    async def create_run(self, run: RunRecord) -> None:
        """Record a new run."""
        self._runs[run.run_id] = copy.copy(run)
        self._events.setdefault(run.run_id, [])

    async def append(self, events: Sequence[Event]) -> None:
        """Append events."""
        for event in events:
            self._events.setdefault(event.run_id, []).append(event)

    async def finish_run(self, run: RunRecord) -> None:
        """Store the final state of `run`."""
        self._runs[run.run_id] = copy.copy(run)

    async def get_run(self, run_id: str) -> RunRecord | None:
        """The run with this id or unique id prefix."""
        if run_id in self._runs:
            return copy.copy(self._runs[run_id])
        matches = [r for key, r in self._runs.items() if key.startswith(run_id)]
        return copy.copy(matches[0]) if len(matches) == 1 else None

    async def list_runs(self, limit: int = 50) -> list[RunRecord]:
        """Newest runs first."""
        runs = sorted(self._runs.values(), key=lambda r: r.created_at, reverse=True)
        return [copy.copy(r) for r in runs[:limit]]

    async def events(self, run_id: str) -> list[Event]:
        """Every event of a run, in order."""
        # by seq, like SqliteStore: concurrent appends may arrive out of order
        return sorted(self._events.get(run_id, []), key=lambda e: e.seq)

    async def close(self) -> None:
        """Nothing to release."""
