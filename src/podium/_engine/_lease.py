"""Single owner: a run is leased by one process at a time, renewed while it works."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import secrets
import socket
from collections.abc import Sequence
from typing import Any

from podium.errors import RunBusy
from podium.events import Event
from podium.store import RunRecord, RunStore

__all__ = ["DEFAULT_TTL", "Lease"]

#: Seconds a lease lives without renewal; a dead process's lease expires after it.
DEFAULT_TTL = float(os.environ.get("PODIUM_LEASE_TTL", "30"))

_HOST = socket.gethostname()
_owners: tuple[int, str, itertools.count[int]] | None = None


def _new_owner() -> str:
    """A lease owner unique to this lease: host, process, a per-process nonce, a counter.

    The nonce tells a restarted process with a reused pid from its predecessor.
    """
    global _owners
    pid = os.getpid()
    if _owners is None or _owners[0] != pid:  # first lease, or a forked child
        _owners = (pid, f"{_HOST}:{pid}:{secrets.token_hex(4)}", itertools.count())
    return f"{_owners[1]}:{next(_owners[2])}"


class Lease:
    """The lease on one run: taken at the start, renewed by a timer, given up at the end.

    Stores that can (the SQL stores) take the lease in the same transaction as
    they create the run, and give it up in the same one as the final record.
    """

    def __init__(self, store: RunStore, run_id: str, ttl: float = DEFAULT_TTL) -> None:
        self.store = store
        self.run_id = run_id
        self.ttl = ttl
        self.owner = _new_owner()
        self._timer: asyncio.TimerHandle | None = None
        self._renewal: asyncio.Task[None] | None = None
        self._held = False
        self._done = False
        self.pending: asyncio.Future[Any] | None = None

    async def acquire(self, new_run: RunRecord | None = None, *, fresh: bool = False) -> None:
        """Take the lease (creating `new_run` first, if given).

        A `fresh` run (its id was just generated, so nobody else can hold it) is
        created without waiting where the store can queue the write: `pending`
        is then its future, for the run's recorder to check.

        Raises:
            RunBusy: another live process holds it.
        """
        store = self.store
        create_nowait = getattr(store, "create_run_leased_nowait", None)
        if fresh and new_run is not None and create_nowait is not None:
            self.pending = create_nowait(new_run, self.owner, self.ttl)
            if self.pending is not None:
                self._held = True
                self._schedule()
                return
        create_leased = getattr(store, "create_run_leased", None)
        if new_run is not None and create_leased is not None:
            ok = await create_leased(new_run, self.owner, self.ttl)
        else:
            if new_run is not None:
                await store.create_run(new_run)
            ok = await store.acquire_lease(self.run_id, self.owner, self.ttl)
        if not ok:
            raise RunBusy(
                "another process is running it right now (its lease is live); wait for it "
                f"to finish or pause, or for its lease to expire ({self.ttl:g}s after it dies)",
                run_id=self.run_id,
            )
        self._held = True
        self._schedule()

    def _schedule(self) -> None:
        # a timer, not a sleeping task per run: runs shorter than ttl/3 cost nothing here
        self._timer = asyncio.get_running_loop().call_later(self.ttl / 3, self._renew)

    def _renew(self) -> None:
        self._renewal = asyncio.get_running_loop().create_task(self._renew_now())

    async def _renew_now(self) -> None:
        with contextlib.suppress(Exception):  # a failed renewal shows up as a lost lease
            await self.store.renew_lease(self.run_id, self.owner, self.ttl)
        if self._held:
            self._schedule()

    def _stop(self) -> None:
        self._held = False
        if self._timer is not None:
            self._timer.cancel()
        if self._renewal is not None:
            self._renewal.cancel()

    async def finish(self, events: Sequence[Event], run: RunRecord) -> None:
        """Write the last events and the final record, and give up the lease."""
        self._stop()
        self._done = True
        end_run = getattr(self.store, "end_run", None)
        if end_run is not None:
            await end_run(events, run, self.owner)
            return
        if events:
            await self.store.append(events)
        await self.store.finish_run(run)
        await self.store.release_lease(self.run_id, self.owner)

    async def release(self) -> None:
        """Give up the lease without finishing (the run failed to record its end)."""
        if self._done or self._timer is None:
            return
        self._stop()
        self._done = True
        with contextlib.suppress(Exception):
            await self.store.release_lease(self.run_id, self.owner)
