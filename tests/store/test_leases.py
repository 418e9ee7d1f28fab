"""Leases: at most one owner drives a run, on every backend."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from store_kit import Backend

from podium import Agent, ConfigError, EventKind, Pipeline, SqliteStore
from podium._engine._runner import RunOptions, execute
from podium.errors import RunBusy
from podium.store import RunStore
from podium.testing import ScriptedModel


async def test_a_lease_has_one_owner_until_released(store: RunStore) -> None:
    assert await store.acquire_lease("r1", "worker-a", ttl=30)
    assert not await store.acquire_lease("r1", "worker-b", ttl=30)
    assert await store.acquire_lease("r1", "worker-a", ttl=30)  # already ours
    assert await store.acquire_lease("r2", "worker-b", ttl=30)  # leases are per run

    await store.release_lease("r1", "worker-b")  # not theirs: nothing happens
    assert not await store.acquire_lease("r1", "worker-b", ttl=30)
    await store.release_lease("r1", "worker-a")
    assert await store.acquire_lease("r1", "worker-b", ttl=30)


async def test_only_the_owner_renews(store: RunStore) -> None:
    assert not await store.renew_lease("r1", "worker-a", ttl=30)  # nobody holds it
    assert await store.acquire_lease("r1", "worker-a", ttl=30)
    assert await store.renew_lease("r1", "worker-a", ttl=30)
    assert not await store.renew_lease("r1", "worker-b", ttl=30)


async def test_an_expired_lease_can_be_taken_over(store: RunStore) -> None:
    assert await store.acquire_lease("r1", "crashed", ttl=0.2)
    assert not await store.acquire_lease("r1", "rescuer", ttl=30)
    await asyncio.sleep(0.3)

    assert await store.acquire_lease("r1", "rescuer", ttl=30)
    assert not await store.renew_lease("r1", "crashed", ttl=30)  # it learns it lost the run
    assert not await store.acquire_lease("r1", "crashed", ttl=30)


async def test_a_renewed_lease_does_not_expire(store: RunStore) -> None:
    assert await store.acquire_lease("r1", "worker-a", ttl=0.3)
    await asyncio.sleep(0.2)
    assert await store.renew_lease("r1", "worker-a", ttl=0.3)
    await asyncio.sleep(0.2)
    assert not await store.acquire_lease("r1", "worker-b", ttl=30)


async def test_concurrent_acquirers_on_two_stores_one_wins(backend: Backend) -> None:
    stores = [backend.open(), backend.open()]  # two processes' stores, one database
    for run in range(5):
        attempts = [
            stores[i % 2].acquire_lease(f"run{run}", f"owner{i}", ttl=30) for i in range(20)
        ]
        won = await asyncio.gather(*attempts)
        assert won.count(True) == 1, won
        winner = won.index(True)
        assert await stores[(winner + 1) % 2].renew_lease(f"run{run}", f"owner{winner}", ttl=30)


async def test_a_lease_time_must_be_positive(store: RunStore) -> None:
    with pytest.raises(ConfigError, match="positive"):
        await store.acquire_lease("r1", "a", ttl=0)
    with pytest.raises(ConfigError, match="positive"):
        await store.renew_lease("r1", "a", ttl=-1)


async def test_a_running_run_keeps_its_lease_past_the_ttl(tmp_path: Path) -> None:
    """The engine renews the lease while the run works, so nobody else can take the run."""
    store = SqliteStore(tmp_path / "r.db")
    agent = Agent("slow", model=ScriptedModel(["done"], latency=1.2))
    try:
        running = asyncio.ensure_future(
            execute(agent, "work", RunOptions(store=store, run_id="r-live", lease_ttl=0.3))
        )
        await asyncio.sleep(0.8)  # well past the 0.3 s ttl: only renewals keep it held
        assert not await store.acquire_lease("r-live", "intruder", ttl=30)
        result = await running
        assert result.ok
        assert await store.acquire_lease("r-live", "intruder", ttl=30)  # released at the end
    finally:
        await store.close()


async def test_a_process_that_lost_its_lease_stops_and_writes_nothing_more(
    backend: Backend,
) -> None:
    """A process stalled past its lease, whose run another process took over, stops."""
    store, ttl = backend.open(), 0.3

    def take_over() -> None:  # another process, while this one's event loop is stalled
        async def go() -> bool:
            other = backend.factory()
            try:
                return await other.acquire_lease("r-stall", "rescuer", ttl=30)
            finally:
                if other is not store:
                    await other.close()

        assert asyncio.run(go())

    def stall(request: object) -> str:
        time.sleep(ttl + 0.2)  # a blocking call: the lease expires unrenewed
        rescuer = threading.Thread(target=take_over)
        rescuer.start()
        rescuer.join()
        return "drafted"

    team = Pipeline(
        [
            Agent("drafter", model=ScriptedModel(fn=stall)),
            Agent("editor", model=ScriptedModel(["edited"], latency=2.0)),
        ]
    )
    with pytest.raises(RunBusy, match="lost the run's lease"):
        await execute(team, "work", RunOptions(store=store, run_id="r-stall", lease_ttl=ttl))
    events = await store.events("r-stall")
    assert not [e for e in events if e.agent == "editor" and e.kind is EventKind.MODEL_RESPONSE]
    assert EventKind.RUN_END not in {e.kind for e in events}  # the run is the rescuer's
    record = await store.get_run("r-stall")
    assert record is not None and record.status == "running"
    assert await store.renew_lease("r-stall", "rescuer", ttl=30)  # still the rescuer's
