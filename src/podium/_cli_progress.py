"""The live progress display shown while a run works."""

from __future__ import annotations

import time
from collections.abc import Iterable
from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from podium.events import Event, EventKind
from podium.guards import Budget

__all__ = ["Progress"]


class Progress:
    """Listens to run events and shows busy agents, subtasks, tokens and cost.

    Use as a context manager; pass it to `run(..., listeners=...)` (it is the listener,
    and a resumed run's `replayed` events start it off).
    """

    def __init__(self, console: Console, *, title: str, budget: Budget | None = None) -> None:
        self.console = console
        self.title = title
        self.budget = budget
        self.busy: dict[str, str] = {}
        self.subtasks_total = 0
        self.subtasks_done = 0
        self.model_calls = 0
        self.tokens = 0
        self.cost = 0.0
        self.started = time.monotonic()
        self._live = Live(self._render(), console=console, refresh_per_second=8, transient=True)

    def __call__(self, event: Event) -> None:
        """The run listener (see `listener`)."""
        self.listener(event)

    def replayed(self, events: Iterable[Event]) -> None:
        """Start a resumed or forked run from what its earlier attempts recorded."""
        for event in events:
            self.listener(event)

    def listener(self, event: Event) -> None:
        """Update the display from one event."""
        kind = event.kind
        if kind is EventKind.RUN_START and event.payload.get("budget"):
            self.budget = Budget(**event.payload["budget"])
        if kind is EventKind.AGENT_START and "team" not in event.payload:
            self.busy[event.path] = event.agent
        elif kind is EventKind.AGENT_END:
            self.busy.pop(event.path, None)
        elif kind is EventKind.PLAN:
            self.subtasks_total += len(event.payload.get("plan", {}).get("subtasks", []))
        elif kind is EventKind.SUBTASK_END:
            self.subtasks_done += 1
        elif kind is EventKind.MODEL_RESPONSE:
            self.model_calls += 1
            self.tokens += event.input_tokens + event.output_tokens
            self.cost += event.cost_usd
        self._live.update(self._render())

    def _render(self) -> Group:
        table = Table.grid(padding=(0, 2))
        busy = ", ".join(sorted(set(self.busy.values()))) or "—"
        elapsed = time.monotonic() - self.started
        table.add_row(Text(self.title, style="bold"), Text(f"{elapsed:5.1f}s", style="dim"))
        table.add_row("working", Text(busy, style="cyan"))
        table.add_row("subtasks", f"{self.subtasks_done}/{self.subtasks_total or '?'}")
        cap = self.budget or Budget()
        calls = f"{self.model_calls}" + (f" of {cap.model_calls}" if cap.model_calls else "")
        tokens = f"{self.tokens:,}" + (f" of {cap.tokens:,}" if cap.tokens else "")
        cost = f"${self.cost:.4f}" + (f" of ${cap.usd:.4f}" if cap.usd is not None else "")
        table.add_row("model calls", calls)
        table.add_row("tokens", tokens)
        table.add_row("spend", cost)
        return Group(table)

    def __enter__(self) -> Progress:
        self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._live.__exit__(exc_type, exc, tb)
