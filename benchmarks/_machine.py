"""Machine and build information stored next to every benchmark result."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

import podium

_ROOT = Path(__file__).resolve().parent.parent


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def _git(*args: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args], cwd=_ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


class _Point:
    __slots__ = ("x", "y")

    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y


def _reference_work(n: int) -> int:
    """Plain interpreter work: calls, attributes, dicts, lists, strings."""
    total = 0
    seen: dict[str, int] = {}
    for i in range(n):
        p = _Point(i, i + 1)
        key = f"k{i % 64}"
        seen[key] = seen.get(key, 0) + p.x
        items = [p.x, p.y, len(key)]
        total += sum(items)
    return total + len(seen)


def reference_us(repeats: int = 7) -> float:
    """µs for a fixed piece of pure-Python work, best of `repeats`: the machine's speed.

    Benchmark times scale with it; it moves when the machine is slower or busier
    (measure it before and after, as `run.py` does).
    """
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        _reference_work(20_000)
        best = min(best, time.perf_counter() - started)
    return best * 1e6


def machine_info() -> dict[str, Any]:
    """CPU, cores, RAM, Python, podium version, git commit (and whether src/ is dirty), date."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "ram_gib": _ram_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        # interpreters differ in speed by how they were compiled: which one ran
        "python_build": " ".join((*platform.python_build(), platform.python_compiler())),
        "podium": podium.__version__,
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty_src": bool(_git("status", "--porcelain", "--", "src")),
        "load_avg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
