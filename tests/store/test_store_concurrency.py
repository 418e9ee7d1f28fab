"""Stores under concurrency: closed while runs are in flight, shared by event loops."""

from __future__ import annotations

import asyncio
import threading

from store_kit import Backend

from podium import Agent, StopReason
from podium.store import RunStore
from podium.testing import ScriptedModel


def _store_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("podium")}


async def _check_log(store: RunStore, run_id: str) -> None:
    run = await store.get_run(run_id)
    assert run is not None and run.status == "completed", run
    events = await store.events(run_id)
    assert [e.seq for e in events] == list(range(len(events)))
    assert events[-1].kind == "run_end"
    assert run.usage["total"]["output_tokens"] == sum(e.output_tokens for e in events)


async def test_closing_a_store_while_runs_are_in_flight(backend: Backend) -> None:
    """Writes queued before the close are committed; later ones reopen the store.

    Nothing hangs, reads keep working, and a last close leaves no thread behind.
    """
    before = _store_threads()
    store = backend.open()
    await store.list_runs()  # open it
    agents = [Agent(f"a{i}", model=ScriptedModel(["one", "two"], latency=0.02)) for i in range(150)]
    runs = [asyncio.ensure_future(a.run(f"task {i}", store=store)) for i, a in enumerate(agents)]
    await asyncio.sleep(0.01)  # every run is past its start, waiting for its model
    await asyncio.wait_for(store.close(), timeout=10)
    results = await asyncio.wait_for(asyncio.gather(*runs), timeout=10)
    for result in results:
        assert result.stop_reason is StopReason.COMPLETED, result.error
        await _check_log(store, result.run_id)
    await asyncio.wait_for(store.close(), timeout=10)
    assert _store_threads() <= before
