"""``podium eval``: a baseline and team variants on one task set, side by side.

Registered on the `podium.cli.app` when `podium.cli` is imported.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from podium._spec_check import check_model_name
from podium.cli import JsonOpt, StoreOpt, _fail, _print_json, after_run_hint, app, err, out
from podium.errors import ConfigError, PodiumError
from podium.eval import EvalReport, RunRow, VariantSummary, load_eval, run_eval
from podium.store import open_store

__all__ = ["render_eval"]


_HEADERS = (
    "success",
    "latency",
    "p95",
    "tokens/run",
    "cost/run",
    "loop",
    "budget",
    "error",
    "Δ success",
    "cost ×",
    "latency ×",
    "tokens ×",
)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def _usd(value: float) -> str:
    return f"${value:.5f}" if value < 0.01 else f"${value:.4f}" if value < 1 else f"${value:.2f}"


def _times(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.2f}"


def _row(s: VariantSummary) -> list[str]:
    style = "green" if s.success_rate >= 0.5 else "red"
    if s.delta is None:
        delta = ["baseline", "", "", ""]
    else:
        points = s.delta.success_points
        color = "green" if points > 0 else "red" if points < 0 else "dim"
        delta = [
            f"[{color}]{points:+.0f} pts[/{color}]",
            _times(s.delta.cost_ratio),
            _times(s.delta.latency_ratio),
            _times(s.delta.tokens_ratio),
        ]
    return [
        s.name,
        f"[{style}]{s.success_rate:.0%}[/{style}] ({s.successes}/{s.n})",
        _ms(s.latency_mean_s),
        _ms(s.latency_p95_s),
        f"{s.tokens_mean:,.0f}",
        _usd(s.cost_usd_mean),
        str(s.loop_stops),
        str(s.budget_stops),
        str(s.errors),
        *delta,
    ]


def _judged(report: EvalReport) -> bool:
    return any(s.judge_tokens or s.judge_cost_usd_total for s in report.variants)


def render_eval(report: EvalReport) -> Table:
    """The summary table: one row per variant, the baseline first.

    With an LLM judge, a last column shows what judging each variant's runs cost
    (per run, apart from the runs' own cost).
    """
    table = Table(
        title="podium eval", title_justify="left", box=box.SIMPLE_HEAD, collapse_padding=True
    )
    judged = _judged(report)
    table.add_column("variant", no_wrap=True)
    for header in (*_HEADERS, "judge/run") if judged else _HEADERS:
        table.add_column(header, justify="right")
    for summary in report.variants:
        cells = _row(summary)
        if judged:
            cells.append(_usd(summary.judge_cost_usd_total / summary.n if summary.n else 0.0))
        table.add_row(*cells)
    return table


def _default_out() -> Path:
    """A new file in ./.podium: evals that end in the same second keep their own results."""
    folder = Path(".podium")
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"eval-{datetime.now():%Y%m%d-%H%M%S}"
    path, n = folder / f"{stem}.json", 1
    while True:
        try:
            path.touch(exist_ok=False)  # exclusive: another process cannot take it too
            return path
        except FileExistsError:
            n += 1
            path = folder / f"{stem}-{n}.json"


def _failed_tasks(report: EvalReport) -> list[str]:
    lines = []
    for row in report.runs:
        if not row.success:
            lines.append(f"  {row.variant} · {row.task_id}: {row.reason} ({row.run_id or '-'})")
    return lines


def _show(report: EvalReport, path: Path | None, store: str | None, *, as_json: bool) -> None:
    if as_json:
        _print_json(report.to_dict())
        return
    out.print(render_eval(report))
    failed = _failed_tasks(report)
    if failed:
        out.print(f"[bold]not passed[/bold] ({len(failed)} of {len(report.runs)} runs):")
        for line in failed[:20]:
            out.print(line, highlight=False, markup=False)
        if len(failed) > 20:
            out.print(f"  … and {len(failed) - 20} more (see the JSON)")
    total = sum(s.cost_usd_total for s in report.variants)
    judge = ""
    if _judged(report):
        spent = sum(s.judge_cost_usd_total for s in report.variants)
        judge = f", and {_usd(spent)} for the judge's calls"
    out.print(f"total cost {_usd(total)} over {len(report.runs)} runs{judge}", highlight=False)
    where = escape(str(path)) if path else "not saved"
    hint = after_run_hint(store, "podium show RUN_ID")
    out.print(f"[dim]results: {where} · {hint}[/dim]", highlight=False)


@app.command("eval")
def eval_(
    eval_file: Annotated[Path, typer.Argument(help="Eval file (YAML): tasks, baseline, variants.")],
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Write the results JSON here (default ./.podium/eval-*.json)."),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", min=1, help="Runs in flight at once.")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Use this PROVIDER:NAME for every agent.")
    ] = None,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Run a task set through a baseline and team variants; compare quality, cost, latency."""
    try:
        suite = load_eval(eval_file)
    except ConfigError as exc:
        _fail(str(exc))
    if model is not None:
        try:
            suite = replace(suite, model=check_model_name(model))
        except ValueError as exc:
            _fail(f"--model: {exc}")
    runs = len(suite.tasks) * len(suite.variants) * suite.repeat

    async def go() -> EvalReport:
        s = open_store(store)
        try:
            if as_json or not err.is_terminal:
                return await run_eval(suite, store=s, concurrency=concurrency)
            columns = (TextColumn("eval"), BarColumn(), MofNCompleteColumn())
            with Progress(*columns, console=err, transient=True) as progress:
                bar = progress.add_task("runs", total=runs)

                def advance(row: RunRow) -> None:
                    progress.advance(bar)

                return await run_eval(suite, store=s, concurrency=concurrency, on_run=advance)
        finally:
            await s.close()

    try:
        report = asyncio.run(go())
    except ConfigError as exc:
        _fail(str(exc))
    except PodiumError as exc:
        _fail(str(exc), 1)
    try:
        path = report.save(out_file or _default_out())
    except OSError as exc:  # the runs are done (and paid for): show them, then fail
        _show(report, None, store, as_json=as_json)
        _fail(f"cannot write the results: {exc}", 1)
    _show(report, path, store, as_json=as_json)
