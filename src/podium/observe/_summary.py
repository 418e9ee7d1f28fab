"""Per-agent numbers and plan/subtask views, computed from a run's events."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from podium.events import Event, EventKind

__all__ = ["AgentRow", "SubtaskSpan", "agent_rows", "plan_of", "subtask_spans"]


@dataclass(slots=True, kw_only=True)
class AgentRow:
    """One agent's totals in a run."""

    agent: str
    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    tool_calls: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    models: set[str] = field(default_factory=set)

    @property
    def p50_s(self) -> float:
        """Median model-call latency in seconds."""
        return statistics.median(self.latencies) if self.latencies else 0.0

    @property
    def p95_s(self) -> float:
        """95th-percentile model-call latency in seconds."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "agent": self.agent,
            "model_calls": self.model_calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
            "tool_calls": self.tool_calls,
            "errors": self.errors,
            "p50_latency_s": self.p50_s,
            "p95_latency_s": self.p95_s,
            "models": sorted(self.models),
        }


def agent_rows(events: Iterable[Event]) -> list[AgentRow]:
    """Per-agent totals: model calls, tokens, cost, tool calls, errors, latencies."""
    rows: dict[str, AgentRow] = {}
    for e in events:
        if e.kind not in (EventKind.MODEL_RESPONSE, EventKind.TOOL_RESULT, EventKind.ERROR):
            continue
        row = rows.setdefault(e.agent, AgentRow(agent=e.agent))
        if e.kind is EventKind.MODEL_RESPONSE:
            row.model_calls += 1
            row.input_tokens += e.input_tokens
            row.output_tokens += e.output_tokens
            row.cost_usd += e.cost_usd
            row.latencies.append(e.latency_s)
            row.models.add(str(e.payload.get("model", "")))
        elif e.kind is EventKind.TOOL_RESULT:
            row.tool_calls += 1
        else:
            row.errors += 1
    return list(rows.values())


def plan_of(events: Iterable[Event]) -> list[dict[str, Any]]:
    """The subtasks of every plan recorded in the run, in order."""
    out: list[dict[str, Any]] = []
    for e in events:
        if e.kind is EventKind.PLAN:
            out.extend(e.payload.get("plan", {}).get("subtasks", []))
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class SubtaskSpan:
    """When a subtask ran, relative to the run start."""

    id: str
    assignee: str
    path: str
    start_s: float
    end_s: float | None


def subtask_spans(events: list[Event]) -> list[SubtaskSpan]:
    """Start/end offsets of every subtask (end None if it never finished)."""
    if not events:
        return []
    t0 = events[0].started_at
    starts: dict[str, Event] = {}
    ends: dict[str, Event] = {}
    for e in events:
        if e.kind is EventKind.SUBTASK_START:
            starts[e.path] = e
        elif e.kind is EventKind.SUBTASK_END:
            ends[e.path] = e
    return [
        SubtaskSpan(
            id=str(s.payload.get("id", "")),
            assignee=str(s.payload.get("assignee", s.agent)),
            path=path,
            start_s=s.started_at - t0,
            end_s=(ends[path].ended_at - t0) if path in ends else None,
        )
        for path, s in starts.items()
    ]
