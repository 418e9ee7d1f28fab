"""Run ids: unique under heavy concurrency, ordered by creation time."""

from __future__ import annotations

import asyncio

from podium import Agent, MemoryStore
from podium._engine._runner import new_run_id
from podium.testing import ScriptedModel


def test_100k_ids_are_unique_and_time_ordered() -> None:
    ids = [new_run_id() for _ in range(100_000)]
    assert len(set(ids)) == len(ids)
    stamps = [int(i[:11], 16) for i in ids]
    assert stamps == sorted(stamps)


async def test_concurrent_runs_without_explicit_ids_never_collide() -> None:
    agent = Agent("a", model=ScriptedModel(fn=lambda r: "ok"))
    store = MemoryStore()
    results = await asyncio.gather(*(agent.run("x", store=store) for _ in range(2_000)))
    assert all(r.ok for r in results)
    assert len({r.run_id for r in results}) == 2_000
