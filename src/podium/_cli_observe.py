"""The observability commands: ``podium trace``, ``blame`` and ``export``, and ``-v``.

Registered on the `podium.cli.app` when `podium.cli` is imported.
"""

from __future__ import annotations

import asyncio
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.live import Live
from rich.text import Text
from rich.tree import Tree

from podium._cli_blame import render_blame
from podium.cli import (
    JsonOpt,
    StoreOpt,
    _fail,
    _print_json,
    app,
    err,
    load_run,
    out,
    read_run,
)
from podium.errors import PodiumError
from podium.observe import (
    Trace,
    TraceNode,
    blame_error,
    blame_final,
    blame_key,
    build_trace,
    configure_cli_logging,
    default_redactor,
)
from podium.store import RunRecord, RunStore, open_store

__all__ = ["render_trace"]

_STATUS_STYLE = {"ok": "green", "completed": "green", "running": "cyan", "handoff": "cyan"}
_CRITICAL = "★"


@app.callback()
def _global_options(
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            help="Log to stderr: -v for INFO (one line per event), -vv for DEBUG.",
        ),
    ] = 0,
) -> None:
    configure_cli_logging(verbose)


# ---- trace ----------------------------------------------------------------------


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _kind_tag(node: TraceNode) -> str:
    if node.kind == "model":
        return f"chat {node.model}"
    if node.kind == "tool":
        return f"tool {node.tool}"
    if node.kind == "subtask":
        return f"subtask {node.subtask}" + (f", {node.team}" if node.team else "")
    if node.team:
        return f"{node.kind}, {node.team}" if node.kind != "team" else node.team
    return node.kind


def _label(node: TraceNode) -> Text:
    if node.mark:
        style = "yellow" if node.kind in ("security", "notice") else "dim"
        return Text(f"• {node.name}", style=style)
    label = Text()
    if node.critical:
        label.append(f"{_CRITICAL} ", style="bold magenta")
    label.append(node.name, style="bold" if node.kind in ("run", "team") else "")
    if node.agent and node.agent != node.name:
        label.append(f" · {node.agent}", style="cyan")
    label.append(f" ({_kind_tag(node)})", style="dim")
    label.append(f"  {_duration(node.latency_s)}")
    tokens = node.input_tokens + node.output_tokens
    if tokens or node.model_calls:
        label.append(f"  {node.input_tokens:,}→{node.output_tokens:,} tok", style="blue")
        label.append(f"  ${node.cost_usd:.6f}", style="blue")
    label.append(f"  {node.status}", style=_STATUS_STYLE.get(node.status, "bold red"))
    if node.error:
        error = node.error if len(node.error) <= 160 else node.error[:159] + "…"
        label.append(f"  {error}", style="red")
    return label


def _branch(tree: Tree, node: TraceNode) -> None:
    for child in node.children:
        _branch(tree.add(_label(child)), child)


def render_trace(trace: Trace, title: str = "") -> RenderableType:
    """The trace tree with a summary header and the critical-path legend."""
    root = trace.root
    if root is None:
        return Text(f"run {trace.run_id}: no events yet", style="dim")
    tree = Tree(_label(root))
    _branch(tree, root)
    header = Text.assemble(
        ("trace ", "dim"),
        (trace.run_id, "bold"),
        (f"  {title}" if title else "", ""),
        (f"  {root.status}", _STATUS_STYLE.get(root.status, "bold red")),
        (
            f"  {_duration(root.latency_s)} · {root.model_calls} model calls · "
            f"{root.input_tokens + root.output_tokens:,} tokens · ${root.cost_usd:.6f}",
            "dim",
        ),
    )
    legend = Text(
        f"{_CRITICAL} critical path: the chain of steps that determined the wall time", "dim"
    )
    return Group(header, tree, legend)


async def _follow(
    store: RunStore, run_id: str, interval: float, live: Live | None
) -> tuple[RunRecord, Trace]:
    record, events = await load_run(store, run_id)
    while True:
        trace = build_trace(events)
        if live is not None:
            live.update(render_trace(trace, record.name))
        if trace.finished:
            return record, trace
        await asyncio.sleep(interval)
        events = await store.events(record.run_id)


def _follow_sync(
    store_url: str | None, run_id: str, interval: float, live: Live | None
) -> tuple[RunRecord, Trace]:
    async def go() -> tuple[RunRecord, Trace]:
        store = open_store(store_url)
        try:
            return await _follow(store, run_id, interval, live)
        finally:
            await store.close()

    try:
        return asyncio.run(go())
    except PodiumError as exc:
        _fail(str(exc), 1)


@app.command()
def trace(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix of one).")],
    as_json: JsonOpt = False,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep polling a running run until it ends.")
    ] = False,
    interval: Annotated[float, typer.Option(help="Seconds between polls with --follow.")] = 0.5,
    store: StoreOpt = None,
) -> None:
    """Show a run as a tree of steps with latency, tokens, cost, status and the critical path."""
    if follow and not as_json:
        with Live(console=out, refresh_per_second=4, transient=False) as live:
            _follow_sync(store, run_id, interval, live)
        return
    if follow:
        record, tree = _follow_sync(store, run_id, interval, None)
    else:
        record, events = read_run(store, run_id)
        tree = build_trace(events)
    if as_json:
        _print_json(tree.to_dict())
    else:
        out.print(render_trace(tree, record.name))


# ---- blame ----------------------------------------------------------------------


@app.command()
def blame(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix of one).")],
    key: Annotated[
        str | None, typer.Argument(help="A blackboard key to trace back to its origin.")
    ] = None,
    final: Annotated[
        bool, typer.Option("--final", help="Trace each claim of the final output (default).")
    ] = False,
    error: Annotated[
        bool, typer.Option("--error", help="Blame the run's first error on a step and agent.")
    ] = False,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Trace an output back to the agent and step it came from: KEY, --final or --error."""
    if sum((key is not None, final, error)) > 1:
        _fail("give one of KEY, --final or --error")
    record, events = read_run(store, run_id)
    data: Any
    try:
        if error:
            data = blame_error(events)
            if data is None:
                _fail(f"run {record.run_id} has no error (status {record.status})", 1)
        elif key is not None:
            data = blame_key(events, key)
        else:
            data = blame_final(events)
    except LookupError as exc:
        _fail(str(exc.args[0]) if exc.args else str(exc), 1)
    if as_json:
        _print_json({"run_id": record.run_id, **data.to_dict()})
    else:
        render_blame(out, record.run_id, data)


# ---- export ---------------------------------------------------------------------


class ExportFormat(StrEnum):
    """Formats of ``podium export``."""

    JSONL = "jsonl"


@app.command()
def export(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix of one).")],
    format_: Annotated[
        ExportFormat, typer.Option("--format", help="jsonl: one event per line.")
    ] = ExportFormat.JSONL,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")
    ] = None,
    store: StoreOpt = None,
) -> None:
    """Export a run's event log (schema: docs/event.schema.json)."""
    record, events = read_run(store, run_id)
    redactor = default_redactor()  # stored events are redacted; this adds today's secrets
    lines = [
        json.dumps(redactor.scrub_obj(e.to_dict()), ensure_ascii=False, default=str) for e in events
    ]
    if output is None:
        for line in lines:
            typer.echo(line)
        return
    try:
        output.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror or exc}", 1)
    err.print(f"wrote {len(lines)} events of run {record.run_id} to {output}", highlight=False)
