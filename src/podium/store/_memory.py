"""An in-memory run store, for tests and throwaway runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from podium.errors import StoreError
from podium.events import Event
from podium.store._base import RunRecord, check_ttl

__all__ = ["MemoryStore"]


def _copy(run: RunRecord) -> RunRecord:
    """A shallow copy (what `copy.copy` does, without its generic machinery).

    Field by field, written out: every run is copied in and out twice. A test
    checks that no field is missed.
    """
    new: RunRecord = object.__new__(RunRecord)
    new.run_id = run.run_id
    new.name = run.name
    new.task = run.task
    new.status = run.status
    new.created_at = run.created_at
    new.ended_at = run.ended_at
    new.output = run.output
    new.error = run.error
    new.usage = run.usage
    new.model = run.model
    new.offline = run.offline
    return new


class MemoryStore:
    """Keeps runs in process memory; nothing survives the process.

    It refuses what the SQL stores refuse (a second run with the same id, an
    event whose ``(run_id, seq)`` is taken), so tests written against it hold
    for them too.
    """

    #: appends complete in call order and survive the caller's cancellation (the
    #: recorder relies on it for a cheaper flush)
    ordered_appends = True

    def __init__(self) -> None:
        self._runs: dict[str, RunRecord] = {}
        self._events: dict[str, dict[int, Event]] = {}
        self._leases: dict[str, tuple[str, float]] = {}

    async def create_run(self, run: RunRecord) -> None:
        """Record a new run."""
        self._create(run)

    def _create(self, run: RunRecord) -> None:
        if run.run_id in self._runs:
            raise StoreError(f"memory store: write failed: run {run.run_id!r} already exists")
        self._runs[run.run_id] = _copy(run)
        self._events.setdefault(run.run_id, {})

    async def create_run_leased(self, run: RunRecord, owner: str, ttl: float) -> bool:
        """`create_run` and `acquire_lease` at once."""
        check_ttl(ttl)
        self._create(run)
        return self._acquire(run.run_id, owner, ttl)

    async def end_run(self, events: Sequence[Event], run: RunRecord, owner: str) -> None:
        """The last events, the final run record and the lease release, all or none."""
        self._append(events)
        self._runs[run.run_id] = _copy(run)
        self._release(run.run_id, owner)

    async def append(self, events: Sequence[Event]) -> None:
        """Append events, all or none."""
        self._append(events)

    def append_nowait(self, events: Sequence[Event]) -> asyncio.Future[None]:
        """`append`, done at once; the returned future holds the outcome."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        try:
            self._append(events)
        except StoreError as exc:
            done.set_exception(exc)
        else:
            done.set_result(None)
        return done

    def _append(self, events: Sequence[Event]) -> None:
        logs = self._events
        runs = {e.run_id for e in events}
        if len(runs) == 1:  # the usual batch: one run's new events, checked at C speed
            (run_id,) = runs
            seqs = [e.seq for e in events]
            log = logs.get(run_id)
            if len(set(seqs)) == len(seqs) and (log is None or log.keys().isdisjoint(seqs)):
                if log is None:
                    log = logs[run_id] = {}
                log.update(zip(seqs, events, strict=True))
                return
        batch: dict[tuple[str, int], Event] = {}
        for e in events:  # all or none: check every event before storing any
            key = (e.run_id, e.seq)
            log = logs.get(e.run_id)
            if key in batch or (log is not None and e.seq in log):
                raise StoreError(f"memory store: write failed: event {key} already exists")
            batch[key] = e
        for (run_id, seq), e in batch.items():
            log = logs.get(run_id)
            if log is None:
                log = logs[run_id] = {}
            log[seq] = e

    async def finish_run(self, run: RunRecord) -> None:
        """Store the final state of `run`."""
        self._runs[run.run_id] = _copy(run)

    async def get_run(self, run_id: str) -> RunRecord | None:
        """The run with this id or unique id prefix."""
        if run_id in self._runs:
            return _copy(self._runs[run_id])
        matches = [r for key, r in self._runs.items() if key.startswith(run_id)]
        return _copy(matches[0]) if len(matches) == 1 else None

    async def list_runs(self, limit: int = 50) -> list[RunRecord]:
        """Newest runs first."""
        runs = sorted(self._runs.values(), key=lambda r: r.created_at, reverse=True)
        return [_copy(r) for r in runs[:limit]]

    async def events(self, run_id: str) -> list[Event]:
        """Every event of a run, in order."""
        # by seq, like the SQL stores: concurrent appends may arrive out of order
        log = self._events.get(run_id, {})
        return [log[seq] for seq in sorted(log)]

    async def acquire_lease(self, run_id: str, owner: str, ttl: float) -> bool:
        """Take the lease if it is free, expired or already `owner`'s."""
        check_ttl(ttl)
        return self._acquire(run_id, owner, ttl)

    def _acquire(self, run_id: str, owner: str, ttl: float) -> bool:
        now = time.monotonic()
        held = self._leases.get(run_id)
        if held is not None and held[0] != owner and held[1] > now:
            return False
        self._leases[run_id] = (owner, now + ttl)
        return True

    async def renew_lease(self, run_id: str, owner: str, ttl: float) -> bool:
        """Extend `owner`'s lease; False if it is not theirs."""
        check_ttl(ttl)
        held = self._leases.get(run_id)
        if held is None or held[0] != owner:
            return False
        self._leases[run_id] = (owner, time.monotonic() + ttl)
        return True

    async def release_lease(self, run_id: str, owner: str) -> None:
        """Give up `owner`'s lease."""
        self._release(run_id, owner)

    def _release(self, run_id: str, owner: str) -> None:
        held = self._leases.get(run_id)
        if held is not None and held[0] == owner:
            del self._leases[run_id]

    async def close(self) -> None:
        """Nothing to release."""
