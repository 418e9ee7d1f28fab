"""Running an eval: every run is recorded, and the report adds up to the stored runs."""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
from eval_kit import EXAMPLE

from podium.errors import ConfigError
from podium.eval import (
    EvalReport,
    EvalSuite,
    Judge,
    RunRow,
    checker_from,
    load_eval,
    p95,
    parse_tasks,
    run_eval,
    summarize,
)
from podium.guards import Budget
from podium.store import RunStore, SqliteStore
from podium.testing import Price, ScriptedModel


def run(suite: EvalSuite, store: RunStore, **kwargs: object) -> EvalReport:
    async def go() -> EvalReport:
        try:
            return await run_eval(suite, store=store, **kwargs)  # type: ignore[arg-type]
        finally:
            await store.close()

    return asyncio.run(go())


def stored_totals(path: Path, run_ids: list[str]) -> list[dict[str, float]]:
    async def go() -> list[dict[str, float]]:
        store = SqliteStore(path)
        try:
            records = [await store.get_run(r) for r in run_ids]
        finally:
            await store.close()
        assert all(r is not None and r.status != "running" for r in records)
        return [r.usage["total"] for r in records if r is not None]

    return asyncio.run(go())


def test_the_report_adds_up_to_the_runs_in_the_store(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    seen: list[RunRow] = []
    report = run(load_eval(EXAMPLE / "eval.yaml"), SqliteStore(db), on_run=seen.append)

    assert len(report.runs) == len(seen) == 18
    assert [s.name for s in report.variants] == ["single", "single-runbook", "team"]
    for summary in report.variants:
        rows = [r for r in report.runs if r.variant == summary.name]
        assert [r.task_id for r in rows][:2] == ["backups", "expenses"]
        totals = stored_totals(db, [r.run_id for r in rows])
        assert summary.n == len(rows) == 6
        assert summary.successes == sum(r.success for r in rows)
        assert summary.success_rate == summary.successes / 6
        assert summary.cost_usd_total == pytest.approx(sum(t["cost_usd"] for t in totals))
        assert summary.cost_usd_total > 0  # the example prices its offline model
        assert summary.latency_mean_s == pytest.approx(sum(t["wall_time_s"] for t in totals) / 6)
        assert summary.latency_p95_s == max(t["wall_time_s"] for t in totals)  # 6 runs: the max
        assert summary.input_tokens == sum(t["input_tokens"] for t in totals)
        assert summary.tokens_total == sum(t["input_tokens"] + t["output_tokens"] for t in totals)
        assert summary.model_calls == sum(t["model_calls"] for t in totals)

    base, tool, team = report.variants
    assert base.success_rate == 0.0 and base.delta is None and base.baseline
    assert tool.success_rate == team.success_rate == 1.0
    assert team.delta is not None and team.delta.success_points == pytest.approx(100.0)
    assert team.delta.cost_ratio == pytest.approx(team.cost_usd_mean / base.cost_usd_mean)
    assert team.delta.tokens_ratio == pytest.approx(team.tokens_mean / base.tokens_mean)
    assert team.delta.latency_ratio == pytest.approx(team.latency_mean_s / base.latency_mean_s)
    assert team.cost_usd_total > tool.cost_usd_total  # the same answers, at a higher price
    assert all(r.reason for r in report.runs)
    assert report.to_dict()["format"] == "podium.eval/1"


def test_guard_stops_are_counted_and_score_zero(tmp_path: Path) -> None:
    suite = replace(load_eval(EXAMPLE / "eval.yaml"), budget=Budget(model_calls=1))
    report = run(suite, SqliteStore(tmp_path / "runs.db"), concurrency=2)
    single, tool, team = report.variants
    assert single.budget_stops == 0 and single.stop_reasons == {"completed": 6}
    assert tool.budget_stops == team.budget_stops == 6
    assert team.success_rate == 0.0 and team.errors == 0
    row = next(r for r in report.runs if r.variant == "team")
    assert row.stop_reason == "budget" and row.score == 0 and "run stopped: budget" in row.reason
    assert report.settings["budget"]["model_calls"] == 1 and report.settings["concurrency"] == 2


def test_a_failing_checker_is_an_error_row_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "broken_check.py").write_text("def check(output, task):\n    raise KeyError(1)\n")
    suite = load_eval(EXAMPLE / "eval.yaml")
    tasks = parse_tasks(
        '{"id": "x", "input": "Which port?", "check": {"python": "broken_check:check"}}',
        directory=tmp_path,
    )
    report = run(
        replace(suite, tasks=tasks, variants=suite.variants[:1]), SqliteStore(tmp_path / "r.db")
    )
    (row,) = report.runs
    assert (
        row.error is not None and "checker python:broken_check:check failed: KeyError" in row.error
    )
    assert report.baseline.errors == 1 and not row.success and row.run_id


def row(variant: str, *, ok: bool, stop: str = "completed", latency: float = 1.0) -> RunRow:
    return RunRow(
        variant=variant,
        task_id="t",
        repeat=0,
        run_id="r",
        success=ok,
        score=float(ok),
        reason="",
        stop_reason=stop,
        latency_s=latency,
        input_tokens=10,
        output_tokens=5,
        cost_usd=0.01,
        model_calls=1,
    )


def test_summaries_count_loops_and_compare_with_the_baseline() -> None:
    rows = [row("a", ok=True), row("a", ok=False, latency=3.0)]
    rows += [row("b", ok=True), row("b", ok=True), row("b", ok=False, stop="loop", latency=6.0)]
    base, other = summarize(rows, ["a", "b"])
    assert (base.n, base.success_rate, base.latency_mean_s) == (2, 0.5, 2.0)
    assert other.loop_stops == 1 and other.stop_reasons == {"completed": 2, "loop": 1}
    assert other.delta is not None
    assert other.delta.success_points == pytest.approx(100 * (2 / 3 - 0.5))
    assert other.delta.latency_ratio == pytest.approx((8 / 3) / 2)
    assert other.delta.cost_ratio == pytest.approx(1.0) and other.cost_usd_total == 0.03
    free = [replace(r, cost_usd=0.0) for r in rows]
    assert summarize(free, ["a", "b"])[1].delta.cost_ratio is None  # type: ignore[union-attr]


def test_p95_is_the_nearest_rank() -> None:
    assert p95([]) == 0.0
    assert p95([5.0]) == 5.0
    values = [float(v) for v in range(1, 101)]
    assert p95(values) == 95.0
    assert p95(list(reversed(values[:20]))) == 19.0  # rank ceil(0.95 * 20) = 19
    assert math.isclose(p95([0.1, 0.2, 0.3]), 0.3)


def test_a_run_that_fails_counts_as_an_error(tmp_path: Path) -> None:
    suite = load_eval(EXAMPLE / "eval.yaml")
    one = replace(
        suite, model="openai:gpt-4o-mini", tasks=suite.tasks[:1], variants=suite.variants[:1]
    )
    report = run(one, SqliteStore(tmp_path / "r.db"))
    (failed,) = report.runs
    assert failed.stop_reason == "error" and failed.error and "OPENAI_API_KEY" in failed.error
    assert report.baseline.errors == 1 and report.settings["model"] == "openai:gpt-4o-mini"


def test_a_slow_plain_checker_does_not_lengthen_the_runs_in_flight(tmp_path: Path) -> None:
    (tmp_path / "slow_check.py").write_text(
        "import time\ndef check(output, task):\n    time.sleep(0.3)\n    return True\n"
    )
    suite = load_eval(EXAMPLE / "eval.yaml")
    lines = [f'{{"id": "t{i}", "input": "Which port?"}}' for i in range(4)]
    tasks = parse_tasks("\n".join(lines), directory=tmp_path)
    slow = replace(
        suite, tasks=tasks, checker=checker_from({"python": "slow_check:check"}, tmp_path)
    )
    report = run(slow, SqliteStore(tmp_path / "r.db"), concurrency=4)
    assert report.baseline.success_rate == 1.0 and len(report.runs) == 12
    assert max(r.latency_s for r in report.runs) < 0.3  # no run waited for another's checker


def test_secrets_stay_out_of_the_results_as_they_do_out_of_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "hunter2-very-secret"
    monkeypatch.setenv("FOO_API_KEY", secret)
    suite = load_eval(EXAMPLE / "eval.yaml")
    tasks = parse_tasks(
        json.dumps({"id": "leak", "input": f"Repeat {secret}", "check": {"regex": secret}})
    )
    db = tmp_path / "r.db"
    report = run(replace(suite, tasks=tasks, variants=suite.variants[:1]), SqliteStore(db))
    (row,) = report.runs
    saved = report.save(tmp_path / "eval.json").read_text(encoding="utf-8")
    assert secret not in saved and "[REDACTED]" in row.output and "[REDACTED]" in row.reason
    assert row.success  # the checker still saw the real output

    async def stored_output() -> str | None:
        store = SqliteStore(db)
        try:
            record = await store.get_run(row.run_id)
        finally:
            await store.close()
        return record.output if record else None

    assert asyncio.run(stored_output()) == row.output


def test_suites_made_in_code_need_tasks_and_distinct_variant_names() -> None:
    suite = load_eval(EXAMPLE / "eval.yaml")
    with pytest.raises(ConfigError, match="at least one task"):
        replace(suite, tasks=())
    with pytest.raises(ConfigError, match="two variants are named 'team'"):
        replace(suite, variants=(*suite.variants, suite.variants[2]))


def test_a_judges_cost_is_reported_apart_from_the_runs(tmp_path: Path) -> None:
    verdicts = iter(['{"score": 1, "reason": "right"}', "not a verdict"] * 10)
    judge_model = ScriptedModel(
        fn=lambda request: next(verdicts), name="judge", price=Price(input=2.0, output=4.0)
    )
    suite = load_eval(EXAMPLE / "eval.yaml")
    judged = replace(
        suite, tasks=suite.tasks[:2], variants=suite.variants[:1], checker=Judge(judge_model)
    )
    db = tmp_path / "r.db"
    report = run(judged, SqliteStore(db), concurrency=1)

    good, bad = report.runs
    assert good.success and good.reason == "right" and good.error is None
    assert not bad.success and bad.error is not None and "gave no usable verdict" in bad.error
    calls = judge_model.requests
    assert len(calls) == 2 and all(r.judge_cost_usd > 0 for r in report.runs)
    base = report.baseline
    assert base.judge_cost_usd_total == pytest.approx(good.judge_cost_usd + bad.judge_cost_usd)
    judge_tokens = sum(r.judge_input_tokens + r.judge_output_tokens for r in report.runs)
    assert base.judge_tokens == judge_tokens
    # the runs' own totals are still exactly what the store recorded for them
    totals = stored_totals(db, [r.run_id for r in report.runs])
    assert base.cost_usd_total == pytest.approx(sum(t["cost_usd"] for t in totals))
    assert base.tokens_total == sum(t["input_tokens"] + t["output_tokens"] for t in totals)
    assert report.settings["checker"] == "judge:scripted:judge"
    saved = report.to_dict()
    assert saved["variants"][0]["judge_cost_usd_total"] == base.judge_cost_usd_total
    assert saved["runs"][0]["judge_cost_usd"] == good.judge_cost_usd
