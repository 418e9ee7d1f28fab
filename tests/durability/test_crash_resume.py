"""Crash a real process mid-run with SIGKILL, resume in another, and compare."""

from __future__ import annotations

import collections
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

APP = Path(__file__).with_name("team_app.py")


def launch(tmp: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PODIUM_LEASE_TTL": "1"}
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "PODIUM_MODEL"):
        env.pop(var, None)
    return subprocess.Popen(
        [sys.executable, str(APP), *args],
        cwd=tmp,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> dict[str, object]:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def worker_responses(db: Path, run_id: str) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute(
                "SELECT count(*) FROM events WHERE run_id=? AND kind='model_response' "
                "AND agent LIKE 'w%'",
                (run_id,),
            ).fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # not created yet


def kill_after(tmp: Path, db: Path, calls: Path, run_id: str, responses: int) -> None:
    """Run the team in a child, SIGKILL it once `responses` worker answers are recorded,
    and wait until its lease (1 s here) has expired."""
    proc = launch(tmp, "run", str(db), str(calls), run_id)
    deadline = time.monotonic() + 30
    while worker_responses(db, run_id) < responses:
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    time.sleep(1.2)


def events(db: Path, run_id: str) -> list[tuple[int, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT seq, path, kind FROM events WHERE run_id=? ORDER BY seq", (run_id,)
        ).fetchall()


@pytest.mark.slow
def test_sigkill_then_resume_in_a_new_process_pays_no_recorded_call_twice(tmp_path: Path) -> None:
    # the reference: the same team, uninterrupted
    ref_db, ref_calls = tmp_path / "ref.db", tmp_path / "ref-calls.txt"
    reference = finish(launch(tmp_path, "run", str(ref_db), str(ref_calls), "ref"))
    assert reference["stop_reason"] == "completed"

    db, calls = tmp_path / "runs.db", tmp_path / "calls.txt"
    kill_after(tmp_path, db, calls, "crashy", 2)  # once the second worker's call is recorded
    recorded_before = collections.Counter(
        path.split("/")[1] for _, path, kind in events(db, "crashy") if kind == "model_response"
    )
    assert recorded_before["task[t1]"] == 1 and recorded_before["task[t2]"] == 1

    resumed = finish(launch(tmp_path, "resume", str(db), str(calls), "crashy"))
    assert resumed == reference  # same final output as the uninterrupted run

    made = collections.Counter(calls.read_text().split())
    assert made["w1"] == 1 and made["w2"] == 1  # recorded calls were not made again
    assert made["lead"] == 2 and made["w3"] in (1, 2)  # w3 may have been in flight

    log = events(db, "crashy")
    assert [seq for seq, _, _ in log] == list(range(len(log)))  # nothing lost, no gaps
    steps = collections.Counter((p, k) for _, p, k in log if k != "run_resumed")
    reference_steps = collections.Counter((p, k) for _, p, k in events(ref_db, "ref"))
    assert steps == reference_steps  # every step exactly once, as in the clean run


@pytest.mark.slow
def test_changed_instructions_on_resume_raise_replay_divergence(tmp_path: Path) -> None:
    db, calls = tmp_path / "runs.db", tmp_path / "calls.txt"
    kill_after(tmp_path, db, calls, "div", 1)
    changed = launch(tmp_path, "resume", str(db), str(calls), "div", "plan badly")
    _out, err = changed.communicate(timeout=60)
    assert changed.returncode != 0
    assert "ReplayDivergence" in err and "root/plan/model#0" in err


@pytest.mark.slow
def test_write_tool_runs_once_across_a_crash_between_effect_and_record(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    (tmp_path / "crash-after-write").write_text("1")
    crashed = launch(tmp_path, "writer", str(db), str(tmp_path / "calls.txt"))
    crashed.communicate(timeout=60)
    assert crashed.returncode == -signal.SIGKILL
    kinds = [k for _, _, k in events(db, "writer-run")]
    assert "tool_call" in kinds and "tool_result" not in kinds  # effect done, not recorded
    time.sleep(1.2)
    result = finish(launch(tmp_path, "writer", str(db), str(tmp_path / "calls.txt"), "writer-run"))
    assert result["stop_reason"] == "completed"
    lines = (tmp_path / "ledger.txt").read_text().splitlines()
    assert len(lines) == 1 and lines[0].endswith(" hello")
    assert lines[0].startswith("writer-run:root/tool[append_line]#0 ")


@pytest.mark.slow
def test_two_concurrent_resumes_of_one_run_exactly_one_proceeds(tmp_path: Path) -> None:
    db, calls = tmp_path / "runs.db", tmp_path / "calls.txt"
    kill_after(tmp_path, db, calls, "twice", 1)
    first = launch(tmp_path, "resume", str(db), str(calls), "twice")
    second = launch(tmp_path, "resume", str(db), str(calls), "twice")
    outcomes = [(*p.communicate(timeout=60), p.returncode) for p in (first, second)]
    codes = sorted(code for _, _, code in outcomes)
    assert codes[0] == 0 and codes[1] != 0
    loser_err = next(err for _, err, code in outcomes if code != 0)
    assert "RunBusy" in loser_err and "another process is running it" in loser_err
    made = collections.Counter(calls.read_text().split())
    assert made["w1"] == 1  # the loser made no model call
