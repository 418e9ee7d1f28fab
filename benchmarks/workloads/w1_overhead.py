"""W1: framework overhead per model call (orchestrator + 3 workers, zero model latency)."""

from __future__ import annotations

import asyncio
import gc
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from podium import Agent, MemoryStore, ModelRequest, Orchestrator, RunStore, SqliteStore
from podium.testing import agent_of

from ._common import TimedModel, median, row

CALLS_PER_RUN = 5  # plan, 3 workers, aggregate
TARGET_US = {"memory": 50.0, "sqlite": 150.0}
_PLAN = json.dumps(
    {
        "subtasks": [
            {"id": f"t{i}", "assignee": f"w{i}", "instructions": f"Summarise part {i}."}
            for i in (1, 2, 3)
        ]
    }
)


def answer(request: ModelRequest) -> str:
    if request.output_name == "Plan":
        return _PLAN
    return f"{agent_of(request)} result: three short findings."


def team(model: TimedModel) -> Orchestrator:
    workers = [Agent(f"w{i}", role=f"worker {i}", model=model) for i in (1, 2, 3)]
    return Orchestrator(planner=Agent("planner", model=model), workers=workers)


async def measure(store: RunStore, runs: int, reps: int, warmup: int) -> dict[str, Any]:
    """Median over `reps` repetitions of (wall - model time) / model calls, in µs."""
    model = TimedModel(fn=answer, latency=0.0)
    orchestrator = team(model)
    for _ in range(warmup):
        result = await orchestrator.run("Summarise the report.", store=store)
        assert result.stop_reason.value == "completed", result.error
    per_call: list[float] = []
    cpu_per_call: list[float] = []
    per_run_ms: list[float] = []
    model_us: list[float] = []
    for _ in range(reps):
        gc.collect()
        model.model_time, model.calls = 0.0, 0
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(runs):
            result = await orchestrator.run("Summarise the report.", store=store)
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu  # all threads: includes SQLite's writer
        assert result.stop_reason.value == "completed", result.error
        assert model.calls == runs * CALLS_PER_RUN, model.calls
        per_call.append((wall - model.model_time) / model.calls * 1e6)
        cpu_per_call.append((cpu - model.model_time) / model.calls * 1e6)
        per_run_ms.append(wall / runs * 1e3)
        model_us.append(model.model_time / model.calls * 1e6)
    return {
        "overhead_us_per_call": median(per_call),
        "overhead_us_per_call_all_reps": [round(x, 1) for x in per_call],
        "cpu_overhead_us_per_call": median(cpu_per_call),
        "wall_ms_per_run": median(per_run_ms),
        "model_us_per_call": median(model_us),
        "runs_per_rep": runs,
        "reps": reps,
        "prompts_recorded": len(model.requests),
    }


async def _both(runs: int, reps: int, warmup: int) -> dict[str, Any]:
    out = {"memory": await measure(MemoryStore(), runs, reps, warmup)}
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as tmp:
        store = SqliteStore(Path(tmp) / "w1.db")
        try:
            out["sqlite"] = await measure(store, runs, reps, warmup)
        finally:
            await store.close()
    return out


def run(quick: bool = False) -> dict[str, Any]:
    runs, reps, warmup = (30, 3, 10) if quick else (200, 9, 50)
    data = asyncio.run(_both(runs, reps, warmup))
    rows = []
    for store, target in TARGET_US.items():
        value = data[store]["overhead_us_per_call"]
        rows.append(
            row(
                f"overhead per model call ({store})",
                value,
                "µs",
                f"≤ {target:g} µs",
                value <= target,
            )
        )
        cpu = data[store]["cpu_overhead_us_per_call"]
        rows.append(row(f"  (info) same, process CPU time ({store})", cpu, "µs"))
        rows.append(row(f"wall per run, 5 calls ({store})", data[store]["wall_ms_per_run"], "ms"))
    return {"rows": rows, "data": data}
