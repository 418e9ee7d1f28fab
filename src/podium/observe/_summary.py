"""Per-agent numbers and plan/subtask views, computed from a run's events."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from podium.events import Event, EventKind

__all__ = [
    "AgentRow",
    "MessageStat",
    "ModelRow",
    "PromptRow",
    "SubtaskSpan",
    "agent_rows",
    "biggest_prompts",
    "message_stats",
    "model_rows",
    "plan_of",
    "report_dict",
    "subtask_spans",
]


def _p50(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _p95(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


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
        return _p50(self.latencies)

    @property
    def p95_s(self) -> float:
        """95th-percentile model-call latency in seconds."""
        return _p95(self.latencies)

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


@dataclass(slots=True, kw_only=True)
class ModelRow:
    """One model's totals in a run."""

    model: str
    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    agents: set[str] = field(default_factory=set)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "model": self.model,
            "model_calls": self.model_calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
            "errors": self.errors,
            "p50_latency_s": _p50(self.latencies),
            "p95_latency_s": _p95(self.latencies),
            "agents": sorted(self.agents),
        }


def model_rows(events: Iterable[Event]) -> list[ModelRow]:
    """Per-model totals: calls, tokens, cost, latencies, and failed calls."""
    rows: dict[str, ModelRow] = {}
    asked: dict[str, str] = {}  # model path -> model requested there
    for e in events:
        if e.kind is EventKind.MODEL_REQUEST:
            asked[e.path] = str(e.payload.get("model", ""))
        elif e.kind is EventKind.MODEL_RESPONSE:
            name = str(e.payload.get("model") or asked.get(e.path, ""))
            row = rows.setdefault(name, ModelRow(model=name))
            row.model_calls += 1
            row.input_tokens += e.input_tokens
            row.output_tokens += e.output_tokens
            row.cost_usd += e.cost_usd
            row.latencies.append(e.latency_s)
            row.agents.add(e.agent)
        elif e.kind is EventKind.ERROR and e.path in asked:
            name = asked[e.path]
            row = rows.setdefault(name, ModelRow(model=name))
            row.errors += 1
            row.agents.add(e.agent)
    return list(rows.values())


@dataclass(slots=True, kw_only=True)
class MessageStat:
    """Messages of one kind passed between agents: how many, how big."""

    kind: str
    count: int = 0
    bytes: int = 0
    largest: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "kind": self.kind,
            "count": self.count,
            "bytes": self.bytes,
            "largest": self.largest,
        }


def _message_text(e: Event) -> tuple[str, str] | None:
    p = e.payload
    if e.kind is EventKind.SUBTASK_START:
        return "subtask instructions", str(p.get("instructions", ""))
    if e.kind is EventKind.SUBTASK_END:
        return "subtask results", str(p.get("output", ""))
    if e.kind is EventKind.STAGE_END:
        return "stage outputs", str(p.get("output", ""))
    if e.kind is EventKind.HANDOFF:
        extra = json.dumps(p["payload"], ensure_ascii=False) if p.get("payload") else ""
        return "handoffs", str(p.get("reason", "")) + extra
    if e.kind is EventKind.CHAT_MESSAGE:
        return "chat messages", str(p.get("text", ""))
    if e.kind is EventKind.BLACKBOARD_WRITE:
        return "blackboard writes", str(p.get("value", ""))
    return None


def message_stats(events: Iterable[Event]) -> list[MessageStat]:
    """Inter-agent messages by kind: count and UTF-8 bytes of what was passed on."""
    stats: dict[str, MessageStat] = {}
    for e in events:
        found = _message_text(e)
        if found is None:
            continue
        kind, text = found
        size = len(text.encode())
        stat = stats.setdefault(kind, MessageStat(kind=kind))
        stat.count += 1
        stat.bytes += size
        stat.largest = max(stat.largest, size)
    return list(stats.values())


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptRow:
    """One model request, by the size of its whole prompt."""

    path: str
    agent: str
    model: str
    prompt_bytes: int
    history: int
    input_tokens: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "path": self.path,
            "agent": self.agent,
            "model": self.model,
            "prompt_bytes": self.prompt_bytes,
            "history": self.history,
            "input_tokens": self.input_tokens,
        }


def biggest_prompts(events: Iterable[Event], n: int = 5) -> list[PromptRow]:
    """The `n` model requests with the largest prompts, largest first."""
    requests: list[Event] = []
    tokens: dict[str, int] = {}
    for e in events:
        if e.kind is EventKind.MODEL_REQUEST:
            requests.append(e)
        elif e.kind is EventKind.MODEL_RESPONSE:
            tokens[e.path] = e.input_tokens
    requests.sort(key=lambda e: (-int(e.payload.get("prompt_bytes", 0)), e.seq))
    return [
        PromptRow(
            path=e.path,
            agent=e.agent,
            model=str(e.payload.get("model", "")),
            prompt_bytes=int(e.payload.get("prompt_bytes", 0)),
            history=int(e.payload.get("history", 0)),
            input_tokens=tokens.get(e.path, 0),
        )
        for e in requests[:n]
    ]


def report_dict(events: list[Event]) -> dict[str, Any]:
    """The `podium show --json` views of a run's events."""
    return {
        "agents": [row.to_dict() for row in agent_rows(events)],
        "models": [row.to_dict() for row in model_rows(events)],
        "messages": [stat.to_dict() for stat in message_stats(events)],
        "biggest_prompts": [row.to_dict() for row in biggest_prompts(events)],
        "events": len(events),
    }


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
