"""Run podium's benchmarks: ``python benchmarks/run.py [--quick] [--only W1,W3] [--out FILE]``.

Prints one table of measured numbers against their targets and writes the same
numbers, with machine information, as JSON. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python benchmarks/run.py` puts benchmarks/ first, not the repo
    sys.path.insert(0, str(ROOT))

from benchmarks._machine import machine_info, reference_us  # noqa: E402

WORKLOADS = {
    "W1": ("w1_overhead", "framework overhead per model call"),
    "W2": ("w2_fanout", "fan-out parallel efficiency"),
    "W3": ("w3_context", "pipeline context size"),
    "W4": ("w4_group_chat", "group chat history window"),
    "W5": ("w5_scale", "concurrent runs: throughput and memory"),
}


def _fmt(value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    if isinstance(value, int) or (float(value).is_integer() and abs(value) >= 100):
        return f"{value:,.0f}"
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"


def table(results: dict[str, Any]) -> str:
    lines = [f"{'':4} {'metric':<50} {'measured':>14}  {'target':<12} result"]
    lines.append("-" * len(lines[0]) + "-" * 4)
    for key, result in results.items():
        if "error" in result:
            lines.append(f"{key:4} ERROR: {result['error']}")
            continue
        for r in result["rows"]:
            verdict = "" if r["pass"] is None else ("pass" if r["pass"] else "FAIL")
            value = f"{r['value']:.2f}" if r["unit"] == "%" else _fmt(r["value"])
            measured = f"{value} {r['unit']}".strip()
            lines.append(f"{key:4} {r['metric']:<50} {measured:>14}  {r['target']:<12} {verdict}")
        load = "/".join(f"{x:.1f}" for x in result["load_avg_1m"])
        ref = "/".join(f"{x:.1f}" for x in result["reference_ms"])
        lines.append(
            f"{'':4} ({result['seconds']:.1f} s; at start/end: load average {load}, "
            f"reference work {ref} ms)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    parser.add_argument("--only", default="", help="comma-separated workloads, e.g. W1,W3")
    parser.add_argument("--out", default="", help="JSON file (default benchmarks/results/...)")
    args = parser.parse_args(argv)
    chosen = [w.strip().upper() for w in args.only.split(",") if w.strip()] or list(WORKLOADS)
    unknown = [w for w in chosen if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {', '.join(WORKLOADS)}")

    report: dict[str, Any] = {"machine": machine_info(), "quick": args.quick, "workloads": {}}
    started = time.perf_counter()
    reference = reference_us() / 1e3  # each workload's end is the next one's start
    for key in chosen:
        module_name, title = WORKLOADS[key]
        print(f"{key}: {title} ...", file=sys.stderr, flush=True)
        module = importlib.import_module(f"benchmarks.workloads.{module_name}")
        t0 = time.perf_counter()
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        try:
            result = module.run(quick=args.quick)
        except Exception as exc:  # one broken workload must not hide the others' numbers
            result = {"error": f"{type(exc).__name__}: {exc}", "rows": []}
        result["seconds"] = time.perf_counter() - t0
        # other processes on the machine skew timings: the 1-minute load at start and end
        result["load_avg_1m"] = [load, os.getloadavg()[0] if hasattr(os, "getloadavg") else None]
        # the machine's speed itself drifts (shared hosts): a fixed piece of Python
        # work timed before and after says how fast it was during this workload
        start, reference = reference, reference_us() / 1e3
        result["reference_ms"] = [start, reference]
        result["title"] = title
        report["workloads"][key] = result
    report["seconds"] = time.perf_counter() - started

    m = report["machine"]
    dirty = " (src dirty)" if m["git_dirty_src"] else ""
    print(
        f"podium {m['podium']} @ {m['git_commit'][:10]}{dirty}"
        f" | {m['cpu']} | {m['cores']} cores | {m['ram_gib']} GiB"
        f" | Python {m['python']} ({m['python_build']})"
        f" | {m['date']}{' | --quick' if args.quick else ''}"
    )
    print(table(report["workloads"]))
    rows = [r for w in report["workloads"].values() for r in w["rows"] if r["pass"] is not None]
    failed = [r for r in rows if not r["pass"]]
    errors = [k for k, w in report["workloads"].items() if "error" in w]
    print(
        f"targets: {len(rows) - len(failed)} passed, {len(failed)} failed"
        f"{f', errors in {errors}' if errors else ''}; total {report['seconds']:.0f} s"
    )

    out = (
        Path(args.out)
        if args.out
        else ROOT / "benchmarks" / "results" / ("quick.json" if args.quick else "latest.json")
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out}")
    return 1 if failed or errors else 0


if __name__ == "__main__":
    sys.exit(main())
