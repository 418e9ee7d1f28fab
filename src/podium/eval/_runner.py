"""Run every task through every variant, a bounded number at a time, and score each run."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from podium import __version__
from podium.errors import ConfigError, PodiumError
from podium.eval._checks import Score
from podium.eval._config import EvalSuite, Variant
from podium.eval._report import EvalReport, RunRow, machine_info, summarize
from podium.eval._tasks import EvalTask
from podium.observe import default_redactor
from podium.result import Result, StopReason
from podium.store import RunStore, open_store

__all__ = ["run_eval"]

_OUTPUT_CHARS = 4000
_FAILURES = (StopReason.ERROR, StopReason.PROVIDER_FAILED)


def _text(output: Any) -> str:
    """A run's output as the text checkers see: JSON for structured outputs."""
    if output is None:
        return ""
    if isinstance(output, str):
        return output
    if hasattr(output, "model_dump_json"):
        return str(output.model_dump_json())
    try:
        return json.dumps(output, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(output)


async def _score(suite: EvalSuite, task: EvalTask, result: Result) -> tuple[Score, str | None]:
    if not result.ok:
        detail = f": {result.error}" if result.error else ""
        return Score(value=0.0, reason=f"run stopped: {result.stop_reason}{detail}"), None
    checker = task.check or suite.checker
    try:
        return await checker.check(_text(result.output), task), None
    except Exception as exc:  # the user's checker broke: one row fails, the eval goes on
        error = f"checker {checker.name} failed: {type(exc).__name__}: {exc}"
        # a judge whose verdict was unusable was still paid for
        return Score(value=0.0, reason=error, usage=getattr(exc, "usage", None)), error


async def _run_one(
    suite: EvalSuite, variant: Variant, task: EvalTask, repeat: int, store: RunStore
) -> RunRow:
    spec = variant.spec
    meta = {
        "spec": str(variant.spec_path.resolve()) if variant.spec_path else None,
        "model": suite.model,
        "eval": {"variant": variant.name, "task": task.id, "repeat": repeat},
    }
    redact = default_redactor().scrub  # the results file keeps secrets out, as the store does
    try:
        inputs = spec.resolve_inputs(task.inputs)
        team = spec.build(model=suite.model)
        result = await team.run(
            spec.render_task(task.input, inputs),
            store=store,
            inputs=inputs,
            budget=suite.budget,
            meta=meta,
        )
    except PodiumError as exc:  # the run could not start, or failed outside the engine
        return RunRow(
            variant=variant.name,
            task_id=task.id,
            repeat=repeat,
            run_id=str(getattr(exc, "run_id", "")),
            success=False,
            score=0.0,
            reason="the run failed",
            stop_reason="error",
            error=redact(str(exc)),
        )
    score, checker_error = await _score(suite, task, result)
    error = checker_error or (result.error if result.stop_reason in _FAILURES else None)
    usage = result.usage.total
    judged = score.usage
    return RunRow(
        variant=variant.name,
        task_id=task.id,
        repeat=repeat,
        run_id=result.run_id,
        success=score.passed,
        score=score.value,
        reason=redact(score.reason),
        stop_reason=str(result.stop_reason),
        latency_s=usage.wall_time_s,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cost_usd=usage.cost_usd,
        model_calls=usage.model_calls,
        error=redact(error) if error else None,
        output=redact(_text(result.output))[:_OUTPUT_CHARS],
        judge_input_tokens=judged.input_tokens if judged else 0,
        judge_output_tokens=judged.output_tokens if judged else 0,
        judge_cost_usd=judged.cost_usd if judged else 0.0,
    )


def _settings(suite: EvalSuite, concurrency: int) -> dict[str, Any]:
    return {
        "eval_file": str(suite.path) if suite.path else None,
        "tasks_file": str(suite.tasks_path) if suite.tasks_path else None,
        "tasks": len(suite.tasks),
        "baseline": suite.baseline.name,
        "variants": [
            {"name": v.name, "spec": str(v.spec_path) if v.spec_path else v.spec.name}
            for v in suite.variants
        ],
        "checker": suite.checker.name,
        "concurrency": concurrency,
        "repeat": suite.repeat,
        "budget": asdict(suite.budget) if suite.budget else None,
        "model": suite.model,
    }


async def run_eval(
    suite: EvalSuite,
    *,
    store: RunStore | None = None,
    concurrency: int | None = None,
    on_run: Callable[[RunRow], None] | None = None,
) -> EvalReport:
    """Run each task `suite.repeat` times through every variant and summarize.

    Every run is a normal recorded run in `store` (``podium show RUN`` works on
    it); its ``meta`` names the variant, task and repeat. A run stopped by a
    guard scores 0 and counts in its stop reason; a run that fails to start or
    a checker that raises counts as an error. Neither stops the eval.

    Args:
        suite: what to run (`load_eval` makes one from an eval file).
        store: where runs are recorded; ``PODIUM_STORE`` or
            ``./.podium/podium.db`` by default.
        concurrency: runs in flight at once instead of `suite.concurrency`.
        on_run: called with each row as its run finishes (progress displays).

    Returns:
        The rows in variant, task and repeat order, and a summary per variant.
    """
    limit = concurrency if concurrency is not None else suite.concurrency
    if limit < 1:
        raise ConfigError(f"concurrency must be at least 1, not {limit}")
    started = datetime.now(UTC).isoformat(timespec="seconds")
    own_store = store is None
    active = store if store is not None else open_store()
    slots = asyncio.Semaphore(limit)

    async def bounded(variant: Variant, task: EvalTask, repeat: int) -> RunRow:
        async with slots:
            row = await _run_one(suite, variant, task, repeat, active)
        if on_run is not None:
            on_run(row)
        return row

    # repeat-major order: with few slots, every variant makes progress together
    jobs = [(v, t, r) for r in range(suite.repeat) for t in suite.tasks for v in suite.variants]
    try:
        rows = await asyncio.gather(*(bounded(v, t, r) for v, t, r in jobs))
    finally:
        if own_store:
            await active.close()
    order = {v.name: i for i, v in enumerate(suite.variants)}
    position = {t.id: i for i, t in enumerate(suite.tasks)}
    ordered = sorted(rows, key=lambda r: (order[r.variant], position[r.task_id], r.repeat))
    return EvalReport(
        variants=summarize(ordered, [v.name for v in suite.variants]),
        runs=tuple(ordered),
        settings=_settings(suite, limit),
        created_at=started,
        podium_version=__version__,
        machine=machine_info(),
    )
