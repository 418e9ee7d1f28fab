"""Where W1's overhead goes: the same runs with one cost removed at a time.

``python -m benchmarks.profiling.ablate_w1 memory|sqlite [REPS]`` (from the repo root).

Variants are interleaved (each repetition runs every variant once) so that load
from other processes hits them alike. The stubs patch podium's private modules:
this is a diagnostic for finding hot spots, not a supported configuration, and it
may need updating when the engine changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import podium._engine._context as context
import podium._engine._lease as lease
import podium._engine._runner as runner
from podium import MemoryStore, SqliteStore
from podium.events import Event, make_event
from podium.observe import Redactor

from ..workloads._common import TimedModel
from ..workloads.w1_overhead import answer, team

RUNS = 100


def no_record(self: Any, kind: Any, path: str, parent: str, agent: str, *_: Any) -> Event:
    """`Recorder.record` stubbed: the event is built, not recorded (no store, no listeners)."""
    return make_event(self.run_id, -1, path, parent, agent, kind, 0.0, 0.0, {})


def _no_renewal(self: Any) -> None:
    """`Lease._schedule` stubbed: the lease is taken and given up, never renewed."""


VARIANTS: dict[str, tuple[Redactor | None, list[tuple[Any, str, Any]]]] = {
    "baseline (defaults)": (None, []),
    "no redaction": (Redactor(key_shapes=False), []),
    "no event_logger listener": (None, [(runner, "run_listeners", lambda run_id: ())]),
    "no event recording (record stubbed)": (None, [(context.Recorder, "record", no_record)]),
    "no lease renewal (keeper stubbed)": (None, [(lease.Lease, "_schedule", _no_renewal)]),
}


@contextlib.contextmanager
def _patched(patches: list[tuple[Any, str, Any]]) -> Any:
    old = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    for obj, name, value in patches:
        setattr(obj, name, value)
    try:
        yield
    finally:
        for obj, name, value in old:
            setattr(obj, name, value)


async def main(kind: str, reps: int) -> None:
    model = TimedModel(fn=answer)
    orchestrator = team(model)
    with tempfile.TemporaryDirectory() as tmp:
        store = MemoryStore() if kind == "memory" else SqliteStore(Path(tmp) / "a.db")
        for _ in range(100):
            await orchestrator.run("x", store=store)
        wall: dict[str, list[float]] = {k: [] for k in VARIANTS}
        cpu: dict[str, list[float]] = {k: [] for k in VARIANTS}
        for _ in range(reps):
            for name, (redactor, patches) in VARIANTS.items():
                with _patched(patches):
                    gc.collect()
                    model.model_time, model.calls = 0.0, 0
                    t0, c0 = time.perf_counter(), time.process_time()
                    for _ in range(RUNS):
                        await orchestrator.run("x", store=store, redactor=redactor)
                    w, c = time.perf_counter() - t0, time.process_time() - c0
                    wall[name].append((w - model.model_time) / model.calls * 1e6)
                    cpu[name].append((c - model.model_time) / model.calls * 1e6)
        if isinstance(store, SqliteStore):
            await store.close()
    base_w = statistics.median(wall["baseline (defaults)"])
    base_c = statistics.median(cpu["baseline (defaults)"])
    for name in VARIANTS:
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        print(
            f"{kind:6} {name:36} wall {w:6.1f} µs/call (saves {base_w - w:+6.1f})  "
            f"cpu {c:6.1f} (saves {base_c - c:+6.1f})"
        )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 9))
