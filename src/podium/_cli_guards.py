"""CLI command `podium estimate`: what a run may cost, before it starts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from podium.cli import JsonOpt, _budget_override, _fail, _parse_inputs, _print_json, app, out
from podium.errors import ConfigError, PodiumError
from podium.guards._budget import Budget
from podium.guards._estimate import Cost, Estimate, estimate
from podium.observe import default_redactor

__all__: list[str] = []


N = TypeVar("N", int, float)


def _low(a: N | None, b: N | None) -> N | None:
    return b if a is None else a if b is None else min(a, b)


def _tighter(a: Budget | None, b: Budget | None) -> Budget | None:
    """Both budgets' caps at once (a run applies the root team's own budget on top)."""
    if a is None or b is None:
        return a or b
    return Budget(
        usd=_low(a.usd, b.usd),
        tokens=_low(a.tokens, b.tokens),
        model_calls=_low(a.model_calls, b.model_calls),
        seconds=_low(a.seconds, b.seconds),
        min_output_tokens=max(a.min_output_tokens, b.min_output_tokens),
    )


def _usd(value: float, priced: bool = True) -> str:
    if not priced:
        return "no price"
    return f"${value:.6f}" if 0 < value < 0.01 else f"${value:,.4f}"


def _line(cost: Cost) -> str:
    return (
        f"{cost.calls:,} model call{'' if cost.calls == 1 else 's'}, {cost.input_tokens:,} input + "
        f"{cost.output_tokens:,} output tokens, {_usd(cost.usd)}"
    )


def _allows(found: Estimate, budget: Budget) -> str:
    """What each cap of `budget` leaves of the worst case."""
    worst, allowed = found.worst, found.allowed
    parts = []
    if budget.usd is not None:
        usd = f"at most {_usd(allowed.usd)} (the worst case is {_usd(worst.usd)})"
        if found.unpriced:
            usd += f", and it fails closed at its first call to {', '.join(found.unpriced)}"
        parts.append(usd)
    if budget.tokens is not None:
        parts.append(f"{allowed.tokens:,} of the worst case's {worst.tokens:,} tokens")
    if budget.model_calls is not None:
        parts.append(f"{allowed.calls:,} of the worst case's {worst.calls:,} model calls")
    if budget.seconds is not None:
        parts.append(f"{budget.seconds:g} seconds of wall-clock time")
    return "; ".join(parts)


def _render(found: Estimate, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for col, justify in (
        ("agent", "left"),
        ("model", "left"),
        ("roles", "left"),
        ("max calls", "right"),
        ("max input / call", "right"),
        ("worst tokens", "right"),
        ("worst USD", "right"),
        ("least USD", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for a in found.agents:
        price = (
            f"${a.price.input:g} / ${a.price.output:g} per M" if a.price else "[red]no price[/red]"
        )
        table.add_row(
            escape(a.name),
            f"{escape(a.model)}\n[dim]{price}[/dim]",
            escape(", ".join(a.roles)),
            f"{a.max_calls:,}",
            f"{a.max_input_tokens:,}",
            f"{a.worst.tokens:,}",
            _usd(a.worst.usd, a.price is not None),
            _usd(a.least.usd, a.price is not None) if a.least.calls else "—",
        )
    out.print(table)
    rows = sum((a.worst for a in found.agents), Cost())
    out.print(f"[bold]worst case[/bold] (what the limits allow): {_line(found.worst)}")
    if rows.calls > found.worst.calls:
        out.print(
            "  [dim]members that share work (a plan's workers, a chat's speakers, a "
            "handoffs team's agents) are counted once at their costliest in the total[/dim]"
        )
    out.print(f"[bold]least[/bold] (a successful run): {_line(found.least)}")
    if found.budget is None:
        out.print("[bold]budget allows[/bold]: no budget: only the limits cap this run")
    else:
        out.print(f"[bold]budget allows[/bold]: {_allows(found, found.budget)}")
    for note in found.notes:
        out.print(f"[yellow]note:[/yellow] {escape(note)}", highlight=False)


@app.command(name="estimate")
def estimate_command(
    spec: Annotated[Path, typer.Argument(help="Team spec (YAML).")],
    task: Annotated[str, typer.Argument(help="What the team would do.")],
    input_: Annotated[
        list[str] | None,
        typer.Option("--input", "-i", help="A declared run input, KEY=VALUE (repeatable)."),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Estimate with this PROVIDER:NAME everywhere.")
    ] = None,
    budget_usd: Annotated[
        float | None, typer.Option("--budget-usd", help="Preview a cap on the run's cost.")
    ] = None,
    budget_tokens: Annotated[
        int | None, typer.Option("--budget-tokens", help="Preview a cap on tokens.")
    ] = None,
    max_calls: Annotated[
        int | None, typer.Option("--max-calls", help="Preview a cap on model calls.")
    ] = None,
    tool_result_tokens: Annotated[
        int,
        typer.Option(
            "--tool-result-tokens", min=0, help="Tokens a turn's tool results may add (default 0)."
        ),
    ] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Before running: the worst case the limits allow, the least, what the budget allows."""
    from podium.spec import load_spec

    try:
        loaded = load_spec(spec)
        inputs = loaded.resolve_inputs(_parse_inputs(input_ or []))
        team = loaded.build(model=model)
        text = loaded.render_task(task, inputs)
        override = _budget_override(spec, budget_usd, budget_tokens, max_calls)
        found = estimate(
            team,
            text,
            inputs=inputs,
            budget=_tighter(override, team.budget) if override else None,
            tool_result_tokens=tool_result_tokens,
        )
    except ConfigError as exc:  # SpecError included: file:line:column in the message
        _fail(str(exc))
    except PodiumError as exc:
        _fail(str(exc), 1)
    shown = default_redactor().scrub(text)  # what a run would record of the task
    if as_json:
        _print_json({"spec": str(spec), "task": shown, **found.to_dict()})
        return
    _render(found, escape(f"{loaded.name}: estimate for {shown[:60]!r}"))
