"""CLI commands for durable runs: resume, fork, approvals, approve, reject, answer."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from podium.approvals import Approval, decide, pending_approvals
from podium.cli import (
    JsonOpt,
    Starter,
    StoreOpt,
    _execute,
    _fail,
    _find_run,
    _guard,
    _print_json,
    app,
    nothing_run_yet,
    out,
    read_run,
    read_store,
)
from podium.events import EventKind
from podium.result import Result
from podium.store import RunStore

__all__: list[str] = []


def _origin(store_url: str | None, run_id: str) -> tuple[str, Path, str | None, str]:
    """The run's full id, spec path, model override and task, from its first event."""
    record, events = read_run(store_url, run_id)
    start = next((e for e in events if e.kind is EventKind.RUN_START), None)
    meta = (start.payload.get("meta") or {}) if start else {}
    if not meta.get("spec"):
        _fail(
            f"run {record.run_id} was not started from a spec file; resume it from Python "
            "with team.resume(run_id)"
        )
    return record.run_id, Path(meta["spec"]), meta.get("model"), record.task


@app.command()
def resume(
    run_id: Annotated[str, typer.Argument(help="The run to continue.")],
    reexecute: Annotated[
        bool,
        typer.Option(
            "--reexecute", help="If a recorded step changed, run from it again instead of failing."
        ),
    ] = False,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Continue a paused or crashed run: recorded steps are not paid for again."""
    _again(
        store,
        run_id,
        as_json,
        lambda team, rid, s, listeners: team.resume(
            rid, store=s, reexecute=reexecute, listeners=listeners
        ),
    )


@app.command()
def fork(
    run_id: Annotated[str, typer.Argument(help="The run to fork.")],
    at: Annotated[
        str,
        typer.Option("--at", help="Step path to re-execute from (podium trace --json lists them)."),
    ],
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Start a new run that reuses RUN's steps before --at and re-executes from there."""
    _again(
        store,
        run_id,
        as_json,
        lambda team, rid, s, listeners: team.fork(rid, at, store=s, listeners=listeners),
    )


def _again(store: str | None, run_id: str, as_json: bool, call: Any) -> None:
    """Rebuild RUN's team from its spec and continue (resume) or branch (fork) it.

    `call(team, run_id, store, listeners)` starts the run.
    """
    full_id, spec, model, task = _origin(store, run_id)

    def starter(s: RunStore) -> Starter:
        async def go(
            team: Any, text: str, inputs: dict[str, str], listeners: tuple[Any, ...]
        ) -> Result:
            result: Result = await call(team, full_id, s, listeners)
            return result

        return go

    _execute(
        spec,
        task,
        model=model,
        inputs={},
        store_url=store,
        as_json=as_json,
        start=starter,
        skip_inputs=True,
    )


@app.command()
def approvals(as_json: JsonOpt = False, store: StoreOpt = None) -> None:
    """List approval gates and questions waiting for a human."""

    async def go() -> list[Any]:
        if nothing_run_yet(store):
            return []
        s = read_store(store)
        try:
            return await pending_approvals(s)
        finally:
            await s.close()

    pending = _guard(go)
    if as_json:
        _print_json([p.to_dict() for p in pending])
        return
    if not pending:
        out.print("nothing is waiting for approval")
        return
    table = Table(title="Waiting for a human", title_justify="left")
    for col in ("run", "step", "agent", "kind", "what", "arguments / question", "asked"):
        table.add_column(col, overflow="fold")
    now = time.time()
    for p in pending:
        asked = dt.datetime.fromtimestamp(p.requested_at).strftime("%m-%d %H:%M:%S")
        if p.expires_at is not None and p.expires_at <= now:  # the default applies on resume
            asked += " (timed out: its default applies on resume)"
        table.add_row(
            p.run_id,
            escape(p.step),
            escape(p.agent),
            p.kind,
            escape(p.name),
            escape(p.arguments[:200]),
            asked,
        )
    out.print(table)
    out.print(
        "[dim]decide with: podium approve RUN STEP | podium reject RUN STEP --reason ..."
        " | podium answer RUN STEP TEXT; then: podium resume RUN[/dim]"
    )


def _record(store: str | None, run_id: str, step: str, approval: Approval, as_json: bool) -> None:
    async def go() -> Any:
        s = read_store(store)
        try:
            record = await _find_run(s, run_id)  # a prefix several runs share is named
            return await decide(s, record.run_id, step, approval)
        finally:
            await s.close()

    event = _guard(go)
    if as_json:
        _print_json(event.to_dict())
    else:
        verb = "answered" if approval.answer is not None else "approved"
        verb = verb if approval.approved else "rejected"
        out.print(
            f"{verb} {escape(step)} of run {event.run_id} as "
            f"{escape(str(event.payload['decided_by']))}; continue with: "
            f"podium resume {event.run_id}"
        )


@app.command()
def approve(
    run_id: Annotated[str, typer.Argument(help="The run.")],
    step: Annotated[str, typer.Argument(help="The gate's step path (podium approvals).")],
    edit: Annotated[
        str | None,
        typer.Option("--edit", help="Run the tool with these arguments instead (a JSON object)."),
    ] = None,
    comment: Annotated[str, typer.Option("--comment", help="Why.")] = "",
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Approve a pending gate (optionally with edited arguments)."""
    if edit is not None:
        try:
            if not isinstance(json.loads(edit), dict):
                raise ValueError("not an object")
        except ValueError as exc:
            _fail(f"--edit must be a JSON object: {exc}")
    _record(
        store,
        run_id,
        step,
        Approval(approved=True, comment=comment, edited_arguments=edit),
        as_json,
    )


@app.command()
def reject(
    run_id: Annotated[str, typer.Argument(help="The run.")],
    step: Annotated[str, typer.Argument(help="The gate's step path (podium approvals).")],
    reason: Annotated[str, typer.Option("--reason", help="Told to the agent.")],
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Reject a pending gate; the agent is told the reason."""
    _record(store, run_id, step, Approval(approved=False, comment=reason), as_json)


@app.command()
def answer(
    run_id: Annotated[str, typer.Argument(help="The run.")],
    step: Annotated[str, typer.Argument(help="The question's step path (podium approvals).")],
    text: Annotated[str, typer.Argument(help="The answer given to the agent.")],
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Answer an agent's question (ask_human)."""
    _record(store, run_id, step, Approval(approved=True, answer=text), as_json)
