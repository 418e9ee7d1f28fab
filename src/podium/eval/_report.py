"""Eval results: one row per run, a summary per variant, deltas against the baseline.

Aggregates are computed from the rows only; each row's numbers are the run's
recorded usage totals, so they can be checked against the store. Latency is
the run's wall time (``usage.total.wall_time_s``); p95 is the nearest-rank
95th percentile.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = ["REPORT_FORMAT", "Delta", "EvalReport", "RunRow", "VariantSummary", "p95", "summarize"]

REPORT_FORMAT = "podium.eval/1"
"""The ``format`` of a saved report; bumped when a field changes meaning."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRow:
    """One run of one task by one variant.

    Attributes:
        variant: the variant's name.
        task_id: the task's id.
        repeat: which repetition (0-based).
        run_id: the run's id in the store ("" when the run could not start).
        success: the score reached `PASS_MARK`.
        score: the checker's score, 0..1 (0 when the run did not complete).
        reason: the checker's reason, or why there is no score.
        stop_reason: the run's `StopReason` value.
        latency_s: the run's wall time in seconds.
        input_tokens: input tokens of the whole run.
        output_tokens: output tokens of the whole run.
        cost_usd: the run's cost.
        model_calls: the run's model calls.
        error: why the run failed (stop reason ``error`` or ``provider_failed``),
            could not start, or could not be checked (the checker raised);
            None otherwise: a guard stop's message is in `reason`.
        output: the final output as text, cut at 4000 characters.
        judge_input_tokens: input tokens of the LLM judge's call on this run's
            output (0 for other checkers); not part of the run's own totals.
        judge_output_tokens: the judge's output tokens.
        judge_cost_usd: what the judge's call cost.
    """

    variant: str
    task_id: str
    repeat: int
    run_id: str
    success: bool
    score: float
    reason: str
    stop_reason: str
    latency_s: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    model_calls: int = 0
    error: str | None = None
    output: str = ""
    judge_input_tokens: int = 0
    judge_output_tokens: int = 0
    judge_cost_usd: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Delta:
    """A variant against the baseline: points of success rate and ratios of means.

    A ratio is None when the baseline's mean is 0 (e.g. unpriced models cost 0).
    """

    success_points: float
    cost_ratio: float | None
    latency_ratio: float | None
    tokens_ratio: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class VariantSummary:
    """Totals and rates of one variant's runs.

    The ``judge_*`` totals are what an LLM-judge checker spent scoring them; the
    run totals (tokens, cost, model calls) never include them.
    """

    name: str
    baseline: bool
    n: int
    successes: int
    success_rate: float
    mean_score: float
    latency_mean_s: float
    latency_p95_s: float
    input_tokens: int
    output_tokens: int
    tokens_total: int
    tokens_mean: float
    cost_usd_total: float
    cost_usd_mean: float
    model_calls: int
    loop_stops: int
    budget_stops: int
    errors: int
    judge_tokens: int = 0
    judge_cost_usd_total: float = 0.0
    stop_reasons: dict[str, int] = field(default_factory=dict)
    delta: Delta | None = None


def p95(values: Sequence[float]) -> float:
    """The nearest-rank 95th percentile of `values` (0.0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _ratio(value: float, base: float) -> float | None:
    return value / base if base else None


def _summary(name: str, rows: Sequence[RunRow], baseline: bool) -> VariantSummary:
    n = len(rows)
    latencies = [r.latency_s for r in rows]
    tokens = sum(r.input_tokens + r.output_tokens for r in rows)
    cost = sum(r.cost_usd for r in rows)
    successes = sum(r.success for r in rows)
    stops = Counter(r.stop_reason for r in rows)
    return VariantSummary(
        name=name,
        baseline=baseline,
        n=n,
        successes=successes,
        success_rate=successes / n if n else 0.0,
        mean_score=sum(r.score for r in rows) / n if n else 0.0,
        latency_mean_s=sum(latencies) / n if n else 0.0,
        latency_p95_s=p95(latencies),
        input_tokens=sum(r.input_tokens for r in rows),
        output_tokens=sum(r.output_tokens for r in rows),
        tokens_total=tokens,
        tokens_mean=tokens / n if n else 0.0,
        cost_usd_total=cost,
        cost_usd_mean=cost / n if n else 0.0,
        model_calls=sum(r.model_calls for r in rows),
        loop_stops=stops.get("loop", 0),
        budget_stops=stops.get("budget", 0),
        errors=sum(r.error is not None for r in rows),
        judge_tokens=sum(r.judge_input_tokens + r.judge_output_tokens for r in rows),
        judge_cost_usd_total=sum(r.judge_cost_usd for r in rows),
        stop_reasons=dict(sorted(stops.items())),
    )


def summarize(rows: Sequence[RunRow], variants: Sequence[str]) -> tuple[VariantSummary, ...]:
    """One summary per name in `variants` (the first is the baseline), with deltas."""
    summaries = [
        _summary(name, [r for r in rows if r.variant == name], i == 0)
        for i, name in enumerate(variants)
    ]
    if not summaries:
        return ()
    base = summaries[0]
    out = [base]
    for s in summaries[1:]:
        delta = Delta(
            success_points=(s.success_rate - base.success_rate) * 100,
            cost_ratio=_ratio(s.cost_usd_mean, base.cost_usd_mean),
            latency_ratio=_ratio(s.latency_mean_s, base.latency_mean_s),
            tokens_ratio=_ratio(s.tokens_mean, base.tokens_mean),
        )
        out.append(replace(s, delta=delta))
    return tuple(out)


def machine_info() -> dict[str, Any]:
    """Where the eval ran: Python, OS and CPU count."""
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class EvalReport:
    """What `run_eval` returns and ``podium eval`` saves (see docs/eval.md).

    Attributes:
        variants: one summary per variant, the baseline first.
        runs: every run, in variant, task and repeat order.
        settings: the eval's files, checker, concurrency, repeat, budget and model.
        created_at: when the eval started (ISO 8601, UTC).
        podium_version: the podium that ran it.
        machine: `machine_info` of the machine that ran it.
    """

    variants: tuple[VariantSummary, ...]
    runs: tuple[RunRow, ...]
    settings: dict[str, Any]
    created_at: str
    podium_version: str
    machine: dict[str, Any]

    @property
    def baseline(self) -> VariantSummary:
        """The baseline's summary."""
        return self.variants[0]

    def variant(self, name: str) -> VariantSummary:
        """The summary of the variant called `name` (KeyError if there is none)."""
        for s in self.variants:
            if s.name == name:
                return s
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (docs/eval.md describes it)."""
        return {
            "format": REPORT_FORMAT,
            "created_at": self.created_at,
            "podium_version": self.podium_version,
            "machine": self.machine,
            "settings": self.settings,
            "variants": [asdict(s) for s in self.variants],
            "runs": [asdict(r) for r in self.runs],
        }

    def save(self, path: str | Path) -> Path:
        """Write `to_dict` as JSON to `path` (folders are created); return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", "utf-8")
        return path
