"""W5: many concurrent single-agent runs in one process: throughput and peak RSS.

Each (size, store) runs in a fresh subprocess so that peak RSS figures do not mix:
``python -m benchmarks.workloads.w5_scale --child N memory|sqlite``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

LATENCY = 0.05
TARGET_RPS = {"memory": 3_000.0, "sqlite": 1_000.0}  # at 500 concurrent runs
TARGET_RSS_MB = 1_024.0  # at 10,000 concurrent runs
_ROOT = Path(__file__).resolve().parents[2]


def _status_mb(field: str) -> float:
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:  # not Linux
        return float("nan")
    for line in lines:
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mb() -> float:
    """Peak RSS of this process image.

    VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child would
    report its parent's peak when that was higher.
    """
    peak = _status_mb("VmHWM")
    if math.isnan(peak):  # ru_maxrss is KiB on Linux, bytes on macOS
        scale = 1024 * 1024 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
    return peak


class _GcTimer:
    """Adds up the time the cyclic garbage collector runs (all generations)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = [0, 0, 0]
        self._started = 0.0
        gc.callbacks.append(self)

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections[info["generation"]] += 1


async def child(n: int, store_kind: str, redact: bool) -> dict[str, Any]:
    from podium import Agent, MemoryStore, SqliteStore
    from podium.observe import Redactor

    from ._common import TimedModel

    model = TimedModel(fn=lambda r: "done: the answer", latency=LATENCY)
    agent = Agent("solo", role="answers", model=model)
    redactor = None if redact else Redactor(key_shapes=False)  # None: default_redactor()
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as tmp:
        store = MemoryStore() if store_kind == "memory" else SqliteStore(Path(tmp) / "w5.db")
        try:
            for i in range(3):  # warm up: imports, the store's writer thread
                await agent.run(f"warm-up {i}", store=store, redactor=redactor)
            baseline = _status_mb("VmRSS")
            gc_timer = _GcTimer()
            started = time.perf_counter()
            results = await asyncio.gather(
                *(agent.run(f"task {i}", store=store, redactor=redactor) for i in range(n))
            )
            wall = time.perf_counter() - started
            gc.callbacks.remove(gc_timer)
        finally:
            await store.close()
    failed = [r.error for r in results if r.stop_reason.value != "completed"]
    assert not failed, failed[:3]
    return {
        "runs": n,
        "store": store_kind,
        "default_redactor": redact,
        "wall_s": wall,
        "runs_per_s": n / wall,
        "ideal_runs_per_s": n / LATENCY,
        "framework_ms_per_run": (wall - LATENCY) / n * 1e3,
        "gc_s": gc_timer.seconds,
        "gc_share_of_wall": gc_timer.seconds / wall,
        "gc_collections_by_generation": gc_timer.collections,
        "baseline_rss_mb": baseline,
        "peak_rss_mb": _peak_mb(),
        "prompts_recorded": len(model.requests),
    }


def _spawn(n: int, store: str, redact: bool = True) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.workloads.w5_scale", "--child", str(n), store]
    if not redact:
        cmd.append("--no-redact")
    out = subprocess.run(cmd, cwd=_ROOT, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"w5 child {n} {store} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median_of(n: int, store: str, reps: int, redact: bool = True) -> dict[str, Any]:
    """The fresh-process sample with the median throughput (all reps' numbers kept)."""
    samples = sorted((_spawn(n, store, redact) for _ in range(reps)), key=lambda s: s["runs_per_s"])
    sample = samples[len(samples) // 2]
    sample["runs_per_s_all_reps"] = [round(s["runs_per_s"]) for s in samples]
    return sample


def run(quick: bool = False) -> dict[str, Any]:
    from ._common import row

    sizes = (500, 2_000) if quick else (500, 2_000, 10_000)
    data: dict[str, Any] = {}
    rows = []
    reps = 1 if quick else 3
    for store in ("memory", "sqlite"):
        for n in sizes:
            sample = data[f"{store}/{n}"] = _median_of(n, store, reps if n < 10_000 else 1)
            rps, peak = sample["runs_per_s"], sample["peak_rss_mb"]
            target, passed = "", None
            if n == 500:
                target, passed = f"≥ {TARGET_RPS[store]:,.0f}/s", rps >= TARGET_RPS[store]
            rows.append(row(f"throughput, {n:,} runs ({store})", rps, "runs/s", target, passed))
            target, passed = "", None
            if n == 10_000:
                target, passed = f"< {TARGET_RSS_MB:,.0f} MB", peak < TARGET_RSS_MB
            rows.append(row(f"peak RSS, {n:,} runs ({store})", peak, "MB", target, passed))
            share = sample["gc_share_of_wall"] * 100
            rows.append(row(f"  (info) cyclic GC share of wall, {n:,} ({store})", share, "%"))
    for store in ("memory", "sqlite"):  # breakdown: the same 500 runs without redaction
        sample = data[f"{store}/500/no-redaction"] = _median_of(500, store, reps, redact=False)
        rows.append(
            row(f"  (info) throughput, 500, no redaction ({store})", sample["runs_per_s"], "runs/s")
        )
    return {"rows": rows, "data": data}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", type=int, required=True)
    parser.add_argument("store", choices=["memory", "sqlite"])
    parser.add_argument("--no-redact", action="store_true")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(child(args.child, args.store, not args.no_redact))))
