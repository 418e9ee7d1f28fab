"""Single owner: a run is leased by one process at a time, renewed while it works."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import secrets
import socket
import weakref
from collections.abc import Callable, Sequence
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
    """The lease on one run: taken at the start, renewed while held, given up at the end.

    Stores that can (the SQL stores) take the lease in the same transaction as
    they create the run, and give it up in the same one as the final record.
    """

    def __init__(self, store: RunStore, run_id: str, ttl: float = DEFAULT_TTL) -> None:
        self.store = store
        self.run_id = run_id
        self.ttl = ttl
        self.owner = _new_owner()
        self._held = False
        self._done = False
        self.pending: asyncio.Future[Any] | None = None
        self._keeper: _Keeper | None = None
        #: set when a renewal finds another owner: this process must stop driving the run
        self.lost = False
        #: called once, when the lease is found lost
        self.on_lost: Callable[[], None] | None = None

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
        self._keeper = _keeper(self.ttl)
        self._keeper.add(self)

    async def renew(self) -> None:
        """Extend the lease now (the keeper calls this every ttl/3 while it is held)."""
        if not self._held:  # given up since the keeper listed it: its store may be closed
            return
        try:
            kept = await self.store.renew_lease(self.run_id, self.owner, self.ttl)
        except Exception:  # the store is unreachable: the next turn tries again
            return
        if kept is False and self._held:  # expired (this process stalled) and taken over
            self._stop()
            self.lost = True
            if self.on_lost is not None:
                self.on_lost()

    def _stop(self) -> None:
        self._held = False
        if self._keeper is not None:
            self._keeper.discard(self)

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
        if self._done or not self._held:
            return
        self._stop()
        self._done = True
        with contextlib.suppress(Exception):
            await self.store.release_lease(self.run_id, self.owner)


class _Keeper:
    """Renews every lease held on one event loop (with one ttl) from one timer.

    Runs shorter than ttl/3 cost a set insertion and removal, not a timer each.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, ttl: float) -> None:
        self.loop = loop
        self.ttl = ttl
        self.leases: set[Lease] = set()
        self.timer: asyncio.TimerHandle | None = None
        self.renewals: set[asyncio.Task[Any]] = set()

    def add(self, lease: Lease) -> None:
        self.leases.add(lease)
        if self.timer is None:
            self.timer = self.loop.call_later(self.ttl / 3, self._fire)

    def discard(self, lease: Lease) -> None:
        self.leases.discard(lease)

    def _fire(self) -> None:
        self.timer = None
        if not self.leases:
            return  # the next lease starts the timer again
        renewal = self.loop.create_task(_renew_all(list(self.leases)))
        self.renewals.add(renewal)
        renewal.add_done_callback(self.renewals.discard)
        self.timer = self.loop.call_later(self.ttl / 3, self._fire)


async def _renew_all(leases: list[Lease]) -> None:
    await asyncio.gather(*(lease.renew() for lease in leases))


_keepers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[float, _Keeper]] = (
    weakref.WeakKeyDictionary()
)


def _keeper(ttl: float) -> _Keeper:
    loop = asyncio.get_running_loop()
    by_ttl = _keepers.get(loop)
    if by_ttl is None:
        by_ttl = _keepers[loop] = {}
    keeper = by_ttl.get(ttl)
    if keeper is None:
        keeper = by_ttl[ttl] = _Keeper(loop, ttl)
    return keeper
