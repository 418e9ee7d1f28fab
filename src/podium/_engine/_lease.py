"""Single owner: a run is leased by one process at a time, renewed while it works."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator

from podium.errors import RunBusy
from podium.store import RunStore

__all__ = ["DEFAULT_TTL", "hold_lease"]

#: Seconds a lease lives without renewal; a dead process's lease expires after it.
DEFAULT_TTL = float(os.environ.get("PODIUM_LEASE_TTL", "30"))


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@contextlib.asynccontextmanager
async def hold_lease(store: RunStore, run_id: str, ttl: float = DEFAULT_TTL) -> AsyncIterator[str]:
    """Own `run_id` for the duration; refuse if another live process owns it.

    Raises:
        RunBusy: the run's lease is held by another process that is still renewing it.
    """
    owner = _owner()
    if not await store.acquire_lease(run_id, owner, ttl):
        raise RunBusy(
            "another process is running it right now (its lease is live); wait for it to "
            f"finish or pause, or for its lease to expire ({ttl:g}s after it dies)",
            run_id=run_id,
        )

    async def renew() -> None:
        while True:
            await asyncio.sleep(ttl / 3)
            await store.renew_lease(run_id, owner, ttl)

    keeper = asyncio.create_task(renew())
    try:
        yield owner
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await keeper
        with contextlib.suppress(Exception):
            await store.release_lease(run_id, owner)
