"""`podium trace` and `podium show`: the tree, its sums, the critical path, the report."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from observe_kit import PRICE, cli, cli_json, plan_json, priced_team, run_in, runner

from podium import Agent, MemoryStore, Orchestrator
from podium.cli import app
from podium.observe import Trace, build_trace
from podium.testing import ScriptedModel


@pytest.fixture
def demo(tmp_path: Path) -> tuple[str, dict[str, Any]]:
    store = str(tmp_path / "runs.db")
    data = cli_json("demo", "--store", store)
    return store, data


STEP_KINDS = {"run", "team", "agent", "subtask", "stage", "model", "tool", "step"}


def _walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for c in node["children"] for n in _walk(c))]


def _assert_sums(node: dict[str, Any]) -> None:
    """Every node's totals are its own plus its children's."""
    for key in ("input_tokens", "output_tokens"):
        assert node[key] == node["self"][key] + sum(c[key] for c in node["children"])
    expected = node["self"]["cost_usd"] + sum(c["cost_usd"] for c in node["children"])
    assert node["cost_usd"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    for child in node["children"]:
        _assert_sums(child)


def test_trace_of_demo_shows_tree_with_latency_tokens_cost(
    demo: tuple[str, dict[str, Any]],
) -> None:
    store, data = demo
    text = cli("trace", data["run_id"], "--store", store).stdout

    assert "research-team" in text and "completed" in text
    for step in ("plan", "task[t1]", "task[t2]", "task[t3]", "aggregate", "tool[search_notes]#0"):
        assert step in text
    model_lines = [line for line in text.splitlines() if "chat scripted:demo" in line]
    assert len(model_lines) == 6
    assert all(" ms" in line and " tok" in line and "$0.000000" in line for line in model_lines)
    assert "• plan: 3 subtasks" in text and "• write task.t3 v1 from task.t1, task.t2" in text
    assert "★ critical path" in text


def test_trace_json_sums_to_run_totals(demo: tuple[str, dict[str, Any]]) -> None:
    store, data = demo
    trace = cli_json("trace", data["run_id"][:10], "--store", store)
    total = data["usage"]["total"]
    tree = trace["tree"]

    assert trace["finished"] and trace["status"] == "completed"
    assert tree["input_tokens"] == total["input_tokens"] > 0
    assert tree["output_tokens"] == total["output_tokens"] > 0
    assert tree["model_calls"] == total["model_calls"] == 6
    _assert_sums(tree)
    kinds = {n["path"]: n["kind"] for n in _walk(tree) if n["kind"] in STEP_KINDS}
    assert kinds["root"] == "run" and kinds["root/task[t1]"] == "subtask"
    assert kinds["root/task[t1]/tool[search_notes]#0"] == "tool"
    assert all(n["latency_s"] >= 0 for n in _walk(tree))


def test_trace_json_costs_sum_for_a_priced_parallel_team(tmp_path: Path) -> None:
    plan = plan_json(("t1", "w1", "fast part", ()), ("t2", "w2", "slow part", ()))
    lead = ScriptedModel([plan, "the answer"], name="scripted:priced", price=PRICE)
    fast = ScriptedModel(["fast result"], name="scripted:priced", price=PRICE, latency=0.01)
    slow = ScriptedModel(["slow result"], name="scripted:priced", price=PRICE, latency=0.2)
    team = Orchestrator(
        planner=Agent("lead", model=lead),
        workers=[Agent("w1", model=fast), Agent("w2", model=slow)],
    )
    result = run_in(tmp_path / "r.db", team, "do it")
    assert result.ok

    trace = cli_json("trace", result.run_id, "--store", str(tmp_path / "r.db"))
    tree = trace["tree"]
    assert tree["cost_usd"] == pytest.approx(result.usage.total.cost_usd, rel=1e-9)
    assert tree["cost_usd"] > 0
    assert tree["input_tokens"] == result.usage.total.input_tokens
    assert tree["output_tokens"] == result.usage.total.output_tokens
    _assert_sums(tree)
    # plan, then the slower of the two parallel subtasks, then the answer
    assert trace["critical_path"] == [
        "root",
        "root/plan",
        "root/plan/model#0",
        "root/task[t2]",
        "root/task[t2]/model#0",
        "root/aggregate",
        "root/aggregate/model#0",
    ]


def test_trace_of_a_run_recorded_on_a_clock_that_did_not_move(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A frozen clock (freezegun in a user's test) or a coarse one (15.6 ms ticks on
    Windows) records steps with equal start and end times: the trace must still finish."""
    plan = plan_json(("t1", "w1", "part one", ()), ("t2", "w2", "part two", ()))
    team = priced_team({"lead": [plan, "done"], "w1": ["one"], "w2": ["two"]}, ["w1", "w2"])
    store = MemoryStore()
    monkeypatch.setattr(time, "time", lambda: 1_800_000_000.0)
    result = team.run_sync("at once", store=store)
    monkeypatch.undo()
    events = asyncio.run(store.events(result.run_id))
    built: list[Trace] = []
    worker = threading.Thread(target=lambda: built.append(build_trace(events)), daemon=True)
    worker.start()
    worker.join(10)
    assert built, "build_trace did not finish"
    critical = built[0].critical_path
    assert len(critical) == len(set(critical))
    assert critical[:2] == ["root", "root/plan"] and "root/aggregate" in critical


def test_trace_follow_on_a_finished_run_renders_once(demo: tuple[str, dict[str, Any]]) -> None:
    store, data = demo
    text = cli("trace", data["run_id"], "--follow", "--store", store).stdout
    assert text.count("research-team (run") == 1 and "completed" in text


def test_trace_follow_polls_a_running_run_until_it_ends(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    plan = plan_json(("t1", "w1", "part one", ()), ("t2", "w2", "part two", ("t1",)))
    script = {"lead": [plan, "done"], "w1": ["one"], "w2": ["two"]}
    team = priced_team(script, ["w1", "w2"], latency=0.15)
    thread = threading.Thread(target=run_in, args=(db, team, "slowly"), kwargs={"run_id": "live1"})
    thread.start()
    try:
        for _ in range(250):  # wait until the run is in the store, then follow it
            if db.exists() and "live1" in runner.invoke(app, ["runs", "--store", str(db)]).stdout:
                break
            time.sleep(0.02)
        running_when_followed = thread.is_alive()
        followed = runner.invoke(
            app, ["trace", "live1", "--follow", "--json", "--interval", "0.05", "--store", str(db)]
        )
    finally:
        thread.join(10)
    assert running_when_followed
    assert followed.exit_code == 0, followed.output
    trace = json.loads(followed.stdout)
    assert trace["finished"] and trace["status"] == "completed"
    assert trace["tree"]["model_calls"] == 4


def test_show_report_has_models_messages_and_biggest_prompts(
    demo: tuple[str, dict[str, Any]],
) -> None:
    store, data = demo
    report = cli_json("show", data["run_id"], "--store", store)
    (model,) = report["models"]
    assert model["model"] == "scripted:demo" and model["model_calls"] == 6
    assert model["input_tokens"] == data["usage"]["total"]["input_tokens"]
    assert set(model) >= {"p50_latency_s", "p95_latency_s", "errors", "cost_usd"}
    messages = {m["kind"]: m for m in report["messages"]}
    assert messages["subtask instructions"]["count"] == 3
    assert messages["subtask results"]["count"] == 3
    assert (
        messages["blackboard writes"]["count"] == 3 and messages["blackboard writes"]["bytes"] > 0
    )
    prompts = report["biggest_prompts"]
    assert len(prompts) == 5
    assert [p["prompt_bytes"] for p in prompts] == sorted(
        (p["prompt_bytes"] for p in prompts), reverse=True
    )
    assert prompts[0]["path"].endswith("model#0") and prompts[0]["agent"] == "lead"
    assert {row["agent"] for row in report["agents"]} == {"lead", "researcher", "analyst", "writer"}

    text = cli("show", data["run_id"], "--store", store).stdout
    for title in ("Per-agent usage", "Per-model usage", "Inter-agent messages", "Biggest prompts"):
        assert title in text
    assert "subtask results" in text and "root/aggregate/model#0" in text


def test_show_of_a_priced_scripted_run_does_not_claim_it_cost_nothing(tmp_path: Path) -> None:
    db = tmp_path / "priced.db"
    plan = plan_json(("t1", "w1", "count", ()))
    result = run_in(db, priced_team({"lead": [plan, "done"], "w1": ["3"]}, ["w1"]), "count it")
    assert result.ok and result.usage.total.cost_usd > 0
    text = cli("show", result.run_id, "--store", str(db)).stdout
    assert f"${result.usage.total.cost_usd:.6f}" in text
    assert "cost $0" not in text
