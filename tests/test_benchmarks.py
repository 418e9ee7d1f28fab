"""The benchmark command: its table, its JSON and its exit status (on the token workloads).

The timed workloads are not run here: speed is checked by the benchmarks' measured
numbers, not by tests. W3 and W4 count tokens, which do not depend on the machine.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_command_prints_the_table_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--quick", "--only", "W3,W4", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "targets: 4 passed, 0 failed" in done.stdout
    assert "needle retention (declared)" in done.stdout
    report = json.loads(out.read_text())
    machine = report["machine"]
    assert machine["python"] == platform.python_version()
    assert machine["python_build"]
    for key in ("W3", "W4"):
        workload = report["workloads"][key]
        start, end = workload["reference_ms"]
        assert start > 0 and end > 0  # how fast the machine was around this workload
        assert all(row["pass"] is not False for row in workload["rows"])
    retention = [
        r for r in report["workloads"]["W3"]["rows"] if r["metric"] == "needle retention (declared)"
    ]
    assert retention[0]["value"] == 100.0


def test_benchmark_command_rejects_an_unknown_workload() -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--only", "W9"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown workload(s) ['W9']" in done.stderr
