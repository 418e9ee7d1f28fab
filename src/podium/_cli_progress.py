"""The live progress display shown while a run works."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from podium.events import Event, EventKind

__all__ = ["Progress"]


class Progress:
    """Listens to run events and shows busy agents, subtasks, tokens and cost.

    Use as a context manager; pass `listener` to `run(..., listeners=...)`.
    """

    def __init__(self, console: Console, *, title: str) -> None:
        self.console = console
        self.title = title
        self.busy: dict[str, str] = {}
        self.subtasks_total = 0
        self.subtasks_done = 0
        self.model_calls = 0
        self.tokens = 0
        self.cost = 0.0
        self.started = time.monotonic()
        self._live = Live(self._render(), console=console, refresh_per_second=8, transient=True)

    def listener(self, event: Event) -> None:
        """Update the display from one event."""
        kind = event.kind
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
        table.add_row("model calls", str(self.model_calls))
        table.add_row("tokens / cost", f"{self.tokens:,} / ${self.cost:.4f}")
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
