"""The `podium` command line: run teams, list and inspect runs."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from podium._cli_progress import Progress
from podium._cli_render import render_details, render_report, render_runs
from podium.errors import ConfigError, PodiumError
from podium.events import Event
from podium.guards import Budget
from podium.observe import default_redactor, report_dict
from podium.result import Result
from podium.store import DEFAULT_PATH, RunRecord, RunStore, SqliteStore, open_store

__all__ = ["app", "main"]

app = typer.Typer(
    name="podium",
    help="Orchestrate teams of specialized LLM agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
if not out.is_terminal:  # piped output: wide enough for the tables, never wrapped at 80
    out.width = max(out.width, 140)
err = Console(stderr=True)

DEMO_TASK = "Compare SQLite and PostgreSQL as the database for a small team's internal tool"

StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Run store: a SQLite path, sqlite:///PATH or 'memory' "
        "(default: $PODIUM_STORE or ./.podium/podium.db).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON and nothing else.")]


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _demo_spec() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (
        here / "_examples" / "research_team" / "team.yaml",  # installed wheel
        here.parents[1] / "examples" / "research_team" / "team.yaml",  # source checkout
    ):
        if candidate.is_file():
            return candidate
    _fail("the demo team spec is missing from this installation (examples/research_team)")


def _parse_inputs(pairs: list[str]) -> dict[str, str]:
    inputs: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            _fail(f"--input takes KEY=VALUE, got {pair!r}")
        inputs[key.strip()] = value
    return inputs


#: Starts the run for `_run_spec`: (team, task text, inputs, listeners) -> Result.
Starter = Callable[[Any, str, dict[str, str], tuple[Any, ...]], Awaitable[Result]]


async def _run_spec(
    spec_path: Path,
    task: str,
    *,
    model: str | None,
    inputs: dict[str, str],
    store: RunStore,
    as_json: bool,
    budget: Budget | None = None,
    start: Starter | None = None,
    skip_inputs: bool = False,
) -> tuple[Result, list[Any]]:
    from podium.spec import load_spec

    spec = load_spec(spec_path)
    resolved = {} if skip_inputs else spec.resolve_inputs(inputs)
    team = spec.build(model=model)
    text = task if skip_inputs else spec.render_task(task, resolved)
    meta = {"spec": str(spec_path), "model": model}

    async def fresh(
        team: Any, text: str, inputs: dict[str, str], listeners: tuple[Any, ...]
    ) -> Result:
        if budget is not None:  # the command line's caps already include the spec's
            team.budget = None
        result: Result = await team.run(
            text, store=store, inputs=inputs, listeners=listeners, meta=meta, budget=budget
        )
        return result

    begin = start or fresh
    if as_json or not out.is_terminal:
        result = await begin(team, text, resolved, ())
    else:
        title = f"{spec.name}: {default_redactor().scrub(text)[:60]}"
        with Progress(err, title=title, budget=budget) as progress:
            result = await begin(team, text, resolved, (progress,))
    events = await store.events(result.run_id)
    return result, events


def _execute(
    spec_path: Path,
    task: str,
    *,
    model: str | None,
    inputs: dict[str, str],
    store_url: str | None,
    as_json: bool,
    budget: Budget | None = None,
    start: Callable[[RunStore], Starter] | None = None,
    skip_inputs: bool = False,
) -> None:
    spec_path = Path(os.path.abspath(spec_path))  # kept in the run so `resume` finds it

    async def go() -> int:
        store = open_store(store_url)
        try:
            result, events = await _run_spec(
                spec_path,
                task,
                model=model,
                inputs=inputs,
                store=store,
                as_json=as_json,
                budget=budget,
                start=start(store) if start else None,
                skip_inputs=skip_inputs,
            )
            if as_json:  # the Result holds the output as returned, before redaction
                _print_json(default_redactor().scrub_obj(result.to_dict()))
            else:
                record = await store.get_run(result.run_id)
                assert record is not None
                render_report(out, record, events)
                out.print(f"[dim]{after_run_hint(store_url, f'podium show {result.run_id}')}[/dim]")
        finally:
            await store.close()
        return 0 if result.ok else 1

    try:
        code = asyncio.run(go())
    except ConfigError as exc:  # SpecError included: file:line:column in the message
        _fail(str(exc))
    except PodiumError as exc:
        _fail(str(exc), 1)
    raise typer.Exit(code)


@app.command()
def run(
    spec: Annotated[Path, typer.Argument(help="Team spec (YAML).")],
    task: Annotated[str, typer.Argument(help="What the team should do.")],
    model: Annotated[
        str | None, typer.Option("--model", help="Use this PROVIDER:NAME for every agent.")
    ] = None,
    input_: Annotated[
        list[str] | None,
        typer.Option("--input", "-i", help="A declared run input, KEY=VALUE (repeatable)."),
    ] = None,
    budget_usd: Annotated[
        float | None, typer.Option("--budget-usd", help="Hard cap on the run's cost in USD.")
    ] = None,
    budget_tokens: Annotated[
        int | None, typer.Option("--budget-tokens", help="Hard cap on input+output tokens.")
    ] = None,
    max_calls: Annotated[
        int | None, typer.Option("--max-calls", help="Most model calls the run may make.")
    ] = None,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Run the team described by SPEC on TASK."""
    _execute(
        spec,
        task,
        model=model,
        inputs=_parse_inputs(input_ or []),
        store_url=store,
        as_json=as_json,
        budget=_budget_override(spec, budget_usd, budget_tokens, max_calls),
    )


def _budget_override(
    spec: Path, usd: float | None, tokens: int | None, calls: int | None
) -> Budget | None:
    """The spec's budget with the command line's caps on top (None: the spec's own)."""
    if usd is None and tokens is None and calls is None:
        return None
    base = Budget()
    try:
        from podium.spec import load_spec

        base = getattr(load_spec(spec), "budget", None) or Budget()
    except PodiumError:
        pass  # the run itself reports spec errors with their location
    from dataclasses import replace

    try:
        return replace(
            base,
            usd=usd if usd is not None else base.usd,
            tokens=tokens if tokens is not None else base.tokens,
            model_calls=calls if calls is not None else base.model_calls,
        )
    except ConfigError as exc:  # a negative, NaN or infinite cap: Budget refuses it
        _fail(str(exc))


@app.command()
def demo(as_json: JsonOpt = False, store: StoreOpt = None) -> None:
    """Run the example research team (offline, on the scripted model, unless configured)."""
    spec = _demo_spec()
    if not as_json:
        out.print(f"[dim]team spec: {spec}[/dim]", highlight=False)
    _execute(spec, DEMO_TASK, model=None, inputs={}, store_url=store, as_json=as_json)


@app.command()
def runs(
    as_json: JsonOpt = False,
    limit: Annotated[int, typer.Option(help="How many runs to list.", min=1)] = 20,
    store: StoreOpt = None,
) -> None:
    """List recent runs, newest first."""

    async def go() -> list[Any]:
        if nothing_run_yet(store):
            return []
        s = read_store(store)
        try:
            return await s.list_runs(limit)
        finally:
            await s.close()

    records = _guard(go)
    if as_json:
        _print_json([_record_dict(r) for r in records])
    elif not records:
        out.print("no runs yet — try [bold]podium demo[/bold]")
    else:
        render_runs(out, records)


@app.command()
def show(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix of one).")],
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Show one run: plan, answer, per-agent and per-model usage, messages, biggest prompts."""
    record, events = read_run(store, run_id)
    if as_json:
        _print_json({**_record_dict(record), **report_dict(events)})
    else:
        render_report(out, record, events)
        render_details(out, events)


def read_store(url: str | None) -> RunStore:
    """The store a command reads runs from; a SQLite file that is not there is not created.

    A missing file is an error: a mistyped ``--store`` must not look like an empty store.
    """
    store = open_store(url)
    if isinstance(store, SqliteStore) and not store.path.exists():
        _fail(f"no run store at {store.path} (--store or $PODIUM_STORE names the store)", 1)
    return store


def _named_store(url: str | None) -> str:
    """The store a command was told to use (``--store``, else ``$PODIUM_STORE``), or ""."""
    return url or os.environ.get("PODIUM_STORE") or ""


def after_run_hint(url: str | None, command: str) -> str:
    """Where to look next: `command`, unless the runs were kept in this process's memory."""
    if _named_store(url) == "memory":
        return "the store was 'memory': the runs ended with this command"
    return f"details: {command}"


def nothing_run_yet(url: str | None) -> bool:
    """True when no store is named and the default one does not exist yet."""
    return not _named_store(url) and not DEFAULT_PATH.exists()


#: How many of the newest runs `_find_run` searches for the runs sharing a prefix.
_PREFIX_SCAN = 1000


async def _find_run(store: RunStore, run_id: str) -> RunRecord:
    """The run with this id or unique id prefix; else exit with status 1 saying why."""
    record = await store.get_run(run_id)
    if record is not None:
        return record
    # the store finds nothing for a prefix several runs share: say so, and name them
    recent = await store.list_runs(_PREFIX_SCAN)
    shared = [r.run_id for r in recent if r.run_id.startswith(run_id)]
    if len(shared) > 1:
        more = ", …" if len(shared) > 3 else ""
        _fail(
            f"{run_id!r} starts {len(shared)} run ids ({', '.join(shared[:3])}{more}); "
            "give more of the id",
            1,
        )
    _fail(f"no run {run_id!r} in the store (podium runs lists them)", 1)


async def load_run(store: RunStore, run_id: str) -> tuple[RunRecord, list[Event]]:
    """The run with this id or unique prefix, and its events (see `_find_run`)."""
    record = await _find_run(store, run_id)
    return record, await store.events(record.run_id)


def read_run(url: str | None, run_id: str) -> tuple[RunRecord, list[Event]]:
    """`load_run` from the store a command reads (`read_store`), closed afterwards."""

    async def go() -> tuple[RunRecord, list[Event]]:
        store = read_store(url)
        try:
            return await load_run(store, run_id)
        finally:
            await store.close()

    result: tuple[RunRecord, list[Event]] = _guard(go)
    return result


def _record_dict(r: Any) -> dict[str, Any]:
    return {
        "run_id": r.run_id,
        "name": r.name,
        "task": r.task,
        "status": r.status,
        "stop_reason": r.status,
        "created_at": r.created_at,
        "ended_at": r.ended_at,
        "output": r.output,
        "error": r.error,
        "usage": r.usage,
        "model": r.model,
        "offline": r.offline,
    }


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _guard(fn: Any) -> Any:
    try:
        return asyncio.run(fn())
    except PodiumError as exc:
        _fail(str(exc), 1)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


# the other command modules register themselves on `app` when imported
from podium import _cli_durable, _cli_eval, _cli_guards, _cli_observe  # noqa: E402, F401
