"""Rich renderings of runs for the CLI."""

from __future__ import annotations

import datetime as dt

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from podium.events import Event
from podium.observe import (
    agent_rows,
    biggest_prompts,
    message_stats,
    model_rows,
    plan_of,
    subtask_spans,
)
from podium.store import RunRecord

__all__ = ["OFFLINE_LABEL", "render_agents", "render_details", "render_report", "render_runs"]

OFFLINE_LABEL = (
    "OFFLINE: answers come from podium's built-in scripted model, not a real LLM "
    "(set OPENAI_API_KEY, ANTHROPIC_API_KEY or PODIUM_MODEL to use one)"
)


def _when(ts: float | None) -> str:
    if ts is None:
        return "—"
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def render_agents(console: Console, events: list[Event]) -> None:
    """The per-agent table: calls, tokens, cost, latency."""
    table = Table(title="Per-agent usage", title_justify="left")
    for col, justify in (
        ("agent", "left"),
        ("model calls", "right"),
        ("tool calls", "right"),
        ("input tok", "right"),
        ("output tok", "right"),
        ("cost USD", "right"),
        ("p50 latency", "right"),
        ("p95 latency", "right"),
        ("errors", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    rows = agent_rows(events)
    for r in rows:
        table.add_row(
            escape(r.agent),
            str(r.model_calls),
            str(r.tool_calls),
            f"{r.input_tokens:,}",
            f"{r.output_tokens:,}",
            f"{r.cost_usd:.6f}",
            f"{r.p50_s * 1000:.1f} ms",
            f"{r.p95_s * 1000:.1f} ms",
            str(r.errors),
        )
    table.add_section()
    table.add_row(
        "total",
        str(sum(r.model_calls for r in rows)),
        str(sum(r.tool_calls for r in rows)),
        f"{sum(r.input_tokens for r in rows):,}",
        f"{sum(r.output_tokens for r in rows):,}",
        f"{sum(r.cost_usd for r in rows):.6f}",
        "",
        "",
        str(sum(r.errors for r in rows)),
        style="bold",
    )
    console.print(table)


def _table(title: str, columns: tuple[str, ...], right_from: int) -> Table:
    table = Table(title=title, title_justify="left")
    for i, col in enumerate(columns):
        table.add_column(col, justify="right" if i >= right_from else "left")
    return table


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def render_details(console: Console, events: list[Event]) -> None:
    """`podium show` extras: per-model usage, inter-agent messages, biggest prompts."""
    models = model_rows(events)
    if models:
        table = _table(
            "Per-model usage",
            (
                "model",
                "agents",
                "calls",
                "input tok",
                "output tok",
                "cost USD",
                "p50",
                "p95",
                "errors",
            ),
            2,
        )
        for m in models:
            row = m.to_dict()
            table.add_row(
                escape(m.model),
                escape(", ".join(row["agents"])),
                str(m.model_calls),
                f"{m.input_tokens:,}",
                f"{m.output_tokens:,}",
                f"{m.cost_usd:.6f}",
                _ms(row["p50_latency_s"]),
                _ms(row["p95_latency_s"]),
                str(m.errors),
            )
        console.print(table)
    stats = message_stats(events)
    if stats:
        table = _table("Inter-agent messages", ("kind", "count", "bytes", "largest"), 1)
        for st in stats:
            table.add_row(st.kind, str(st.count), f"{st.bytes:,}", f"{st.largest:,}")
        table.add_section()
        table.add_row(
            "total",
            str(sum(st.count for st in stats)),
            f"{sum(st.bytes for st in stats):,}",
            "",
            style="bold",
        )
        console.print(table)
    prompts = biggest_prompts(events)
    if prompts:
        table = _table(
            "Biggest prompts",
            ("#", "step", "agent", "model", "prompt bytes", "earlier msgs", "input tok"),
            4,
        )
        for i, pr in enumerate(prompts, 1):
            table.add_row(
                str(i),
                escape(pr.path),
                escape(pr.agent),
                escape(pr.model),
                f"{pr.prompt_bytes:,}",
                str(pr.history),
                f"{pr.input_tokens:,}",
            )
        console.print(table)


def _render_plan(console: Console, events: list[Event]) -> None:
    plan = plan_of(events)
    if not plan:
        return
    spans = {s.id: s for s in subtask_spans(events)}
    table = Table(
        title="Plan (subtasks without dependencies run in parallel)", title_justify="left"
    )
    for col in ("id", "assignee", "depends on", "ran (s from start)", "instructions"):
        table.add_column(col)
    for sub in plan:
        span = spans.get(str(sub.get("id")))
        ran = "not run"
        if span is not None:
            end = f"{span.end_s:.2f}" if span.end_s is not None else "…"
            ran = f"{span.start_s:.2f} → {end}"
        instructions = str(sub.get("instructions", ""))
        table.add_row(
            escape(str(sub.get("id"))),
            escape(str(sub.get("assignee"))),
            escape(", ".join(sub.get("depends_on", [])) or "—"),
            ran,
            escape(instructions if len(instructions) < 90 else instructions[:89] + "…"),
        )
    console.print(table)


def render_report(console: Console, run: RunRecord, events: list[Event]) -> None:
    """A run: header, plan, final answer or error, per-agent table."""
    if run.offline:
        console.print(Text(OFFLINE_LABEL, style="bold yellow"))
    status_style = "green" if run.status == "completed" else "red"
    console.print(
        Text.assemble(
            ("run ", "dim"),
            (run.run_id, "bold"),
            ("  ", ""),
            (run.status, f"bold {status_style}"),
            (f"  {run.name}", ""),
            (f"  started {_when(run.created_at)}", "dim"),
            (f"  model {run.model or '—'}", "dim"),
        )
    )
    console.print(Text.assemble(("task: ", "dim"), run.task))
    _render_plan(console, events)
    if run.output is not None:
        title = "Final answer (offline scripted model)" if run.offline else "Final answer"
        console.print(Panel(Text(run.output), title=title, title_align="left"))
    if run.error:
        console.print(Panel(Text(run.error), title="Error", title_align="left", style="red"))
    render_agents(console, events)
    total = run.usage.get("total", {})
    if run.offline and not total.get("cost_usd"):  # unless a price was given to it
        console.print("[dim]the scripted model has no price, so offline runs cost $0[/dim]")
    console.print(
        f"[dim]wall time {total.get('wall_time_s', 0.0):.2f}s · "
        f"{total.get('model_calls', 0)} model calls · "
        f"{total.get('input_tokens', 0) + total.get('output_tokens', 0):,} tokens · "
        f"${total.get('cost_usd', 0.0):.6f}[/dim]"
    )


def render_runs(console: Console, runs: list[RunRecord]) -> None:
    """The `podium runs` table."""
    table = Table(title="Runs (newest first)", title_justify="left")
    table.add_column("run id", no_wrap=True)
    table.add_column("started", no_wrap=True)
    table.add_column("team")
    table.add_column("status", no_wrap=True)
    table.add_column("calls", justify="right")
    table.add_column("tokens", justify="right", no_wrap=True)
    table.add_column("cost USD", justify="right", no_wrap=True)
    table.add_column("model")
    for r in runs:
        total = r.usage.get("total", {})
        model = r.model + (" (offline)" if r.offline else "")
        started = dt.datetime.fromtimestamp(r.created_at).strftime("%m-%d %H:%M:%S")
        table.add_row(
            r.run_id,
            started,
            escape(r.name),
            r.status,
            str(total.get("model_calls", 0)),
            f"{total.get('input_tokens', 0) + total.get('output_tokens', 0):,}",
            f"{total.get('cost_usd', 0.0):.4f}",
            escape(model),
        )
    console.print(table)
