"""W2: fan-out of n independent 200 ms subtasks; parallel efficiency = ideal / actual."""

from __future__ import annotations

import asyncio
import gc
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

from podium import Agent, Limits, MemoryStore, ModelRequest, Orchestrator, RunStore, SqliteStore

from ._common import TimedModel, median, row

WORKER_LATENCY = 0.2
TARGETS = {10: 0.98, 100: 0.95}


def _planner(n: int) -> TimedModel:
    plan = json.dumps(
        {
            "subtasks": [
                {"id": f"t{i}", "assignee": "worker", "instructions": f"Check item {i}."}
                for i in range(n)
            ]
        }
    )

    def answer(request: ModelRequest) -> str:
        return plan if request.output_name == "Plan" else "All items checked."

    return TimedModel(fn=answer, latency=0.0)


async def fan_out(n: int, store: RunStore) -> dict[str, Any]:
    planner = _planner(n)
    worker_model = TimedModel(fn=lambda r: "item checked: ok", latency=WORKER_LATENCY)
    team = Orchestrator(
        planner=Agent("planner", model=planner, max_tokens=16_000),
        aggregator=Agent("aggregator", model=planner),
        workers=[Agent("worker", role="checks one item", model=worker_model)],
        max_concurrency=n,
    )
    started = time.perf_counter()
    result = await team.run(
        "Check every item.", store=store, max_concurrency=n, limits=Limits(max_fanout=n)
    )
    actual = time.perf_counter() - started
    assert result.stop_reason.value == "completed", result.error
    assert worker_model.calls == n, worker_model.calls
    per_agent = result.usage.per_agent
    serial = per_agent["planner"].wall_time_s + per_agent["aggregator"].wall_time_s
    concurrency = n  # the orchestrator's and the run's max_concurrency
    ideal = serial + WORKER_LATENCY * math.ceil(n / concurrency)
    return {
        "wall_s": actual,
        "ideal_s": ideal,
        "planner_aggregator_s": serial,
        "efficiency": ideal / actual,
        "prompts_recorded": len(planner.requests) + len(worker_model.requests),
    }


async def _all(sizes: list[int], reps: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as tmp:
        for store_name in ("memory", "sqlite"):
            # each store starts from the same heap: the memory store's runs are
            # released before SQLite is measured, and every sample starts collected
            store: RunStore = (
                MemoryStore() if store_name == "memory" else SqliteStore(Path(tmp) / "w2.db")
            )
            try:
                await fan_out(2, store)  # warm up imports and the store
                for n in sizes:
                    samples = []
                    for _ in range(reps):
                        gc.collect()
                        samples.append(await fan_out(n, store))
                    best = sorted(samples, key=lambda s: s["efficiency"])[len(samples) // 2]
                    best["efficiency_all_reps"] = [round(s["efficiency"], 4) for s in samples]
                    best["efficiency"] = median([s["efficiency"] for s in samples])
                    out[f"{store_name}/{n}"] = best
            finally:
                if isinstance(store, SqliteStore):
                    await store.close()
            del store
    return out


def run(quick: bool = False) -> dict[str, Any]:
    data = asyncio.run(_all(list(TARGETS), 3 if quick else 7))
    rows = []
    for key, sample in data.items():
        store, n = key.split("/")
        target = TARGETS[int(n)]
        rows.append(
            row(
                f"parallel efficiency, n={n} ({store})",
                sample["efficiency"] * 100,
                "%",
                f"≥ {target:.0%}",
                sample["efficiency"] >= target,
            )
        )
        rows.append(row(f"wall time, n={n} ({store})", sample["wall_s"], "s"))
    return {"rows": rows, "data": data}
