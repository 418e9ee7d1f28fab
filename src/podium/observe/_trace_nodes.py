"""The records of a trace tree, and how an instant event reads as one line."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from podium.events import Event, EventKind

__all__ = ["Trace", "TraceNode", "mark_label"]


@dataclass(slots=True, kw_only=True)
class TraceNode:
    """One step of the run (or, for marks, one instant event at a step).

    Attributes:
        path: the step path.
        name: the last path segment (the runnable's name for the run).
        kind: ``run``, ``team``, ``agent``, ``subtask``, ``stage``, ``model``,
            ``tool``, ``step``, or an event kind for marks.
        agent: the agent or team that owns the step.
        status: ``ok``, ``error``, ``running``, ``incomplete``, a stop reason, ...
        start: wall-clock start (epoch seconds).
        end: wall-clock end, including every child.
        input_tokens: own plus children's input tokens.
        output_tokens: own plus children's output tokens.
        cost_usd: own plus children's cost.
        model_calls: model calls at or below this step.
        critical: on the critical path (the steps the wall time waited on).
        mark: an instant event rather than a step.
    """

    path: str
    name: str
    kind: str = "step"
    agent: str = ""
    status: str = "running"
    start: float
    end: float
    seq: int
    parent_path: str = ""
    roles: set[str] = field(default_factory=set)
    model: str = ""
    tool: str = ""
    team: str = ""
    subtask: str = ""
    detail: str = ""
    error: str = ""
    self_input_tokens: int = 0
    self_output_tokens: int = 0
    self_cost_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    model_calls: int = 0
    critical: bool = False
    mark: bool = False
    children: list[TraceNode] = field(default_factory=list)

    @property
    def latency_s(self) -> float:
        """Seconds from start to end."""
        return max(0.0, self.end - self.start)

    def walk(self) -> Iterator[TraceNode]:
        """This node and every descendant, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def to_dict(self, t0: float) -> dict[str, Any]:
        """Nested JSON form; times are seconds from `t0`."""
        data: dict[str, Any] = {
            "path": self.path,
            "name": self.name,
            "kind": self.kind,
            "agent": self.agent,
            "status": self.status,
            "start_s": round(self.start - t0, 6),
            "end_s": round(self.end - t0, 6),
            "latency_s": round(self.latency_s, 6),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
            "model_calls": self.model_calls,
            "self": {
                "input_tokens": self.self_input_tokens,
                "output_tokens": self.self_output_tokens,
                "cost_usd": self.self_cost_usd,
            },
            "critical": self.critical,
        }
        for key in ("model", "tool", "team", "subtask", "detail", "error"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        data["children"] = [c.to_dict(t0) for c in self.children]
        return data


@dataclass(slots=True, kw_only=True)
class Trace:
    """A run's trace tree.

    Attributes:
        run_id: the run.
        root: the run's node (None for a run without events).
        finished: a ``run_end`` event was recorded.
        usage: the run's usage totals from ``run_end`` (empty while running).
    """

    run_id: str
    root: TraceNode | None
    finished: bool = False
    usage: dict[str, Any] = field(default_factory=dict)

    @property
    def critical_path(self) -> list[str]:
        """Paths of the critical-path nodes, outermost first."""
        return [n.path for n in self.nodes() if n.critical]

    def nodes(self) -> Iterator[TraceNode]:
        """Every node, depth first."""
        if self.root is not None:
            yield from self.root.walk()

    def find(self, path: str) -> TraceNode | None:
        """The step node at `path`, or None."""
        return next((n for n in self.nodes() if n.path == path and not n.mark), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: run id, status, totals, critical path and the nested tree."""
        root = self.root
        return {
            "run_id": self.run_id,
            "finished": self.finished,
            "status": root.status if root else "empty",
            "totals": {
                "input_tokens": root.input_tokens if root else 0,
                "output_tokens": root.output_tokens if root else 0,
                "cost_usd": root.cost_usd if root else 0.0,
                "model_calls": root.model_calls if root else 0,
                "latency_s": root.latency_s if root else 0.0,
            },
            "usage": self.usage,
            "critical_path": self.critical_path,
            "tree": root.to_dict(root.start) if root else None,
        }


def mark_label(event: Event) -> str:
    """A one-line description of an instant event."""
    p = event.payload
    kind = event.kind
    why = f": {p['reason']}" if p.get("reason") else ""
    if kind is EventKind.BLACKBOARD_WRITE:
        sources = p.get("sources") or []
        origin = f" from {', '.join(map(str, sources))}" if sources else ""
        return f"write {p.get('key')} v{p.get('version')}{origin}"
    if kind is EventKind.BLACKBOARD_STATUS:
        return f"{p.get('status')} {p.get('key')} v{p.get('version')}{why}"
    if kind is EventKind.HANDOFF:
        return f"handoff {p.get('from')} → {p.get('to')}{why}"
    if kind is EventKind.PLAN:
        subtasks = p.get("plan", {}).get("subtasks", [])
        assigned = ", ".join(f"{s.get('id')}→{s.get('assignee')}" for s in subtasks)
        return f"plan: {len(subtasks)} subtasks ({assigned})"
    if kind is EventKind.CHAT_MESSAGE:
        text = str(p.get("text", ""))
        return f"message from {p.get('speaker')} ({len(text.encode())} bytes)"
    if kind is EventKind.SECURITY:
        return f"security: {p.get('reason')} {p.get('tool') or p.get('to') or ''}".rstrip()
    if kind is EventKind.GUARD_STOP:
        return f"guard stop: {p.get('reason')} — {p.get('detail', '')}"
    if kind is EventKind.LOOP_DETECTED:
        return f"loop detected: {p.get('detector')} ({', '.join(map(str, p.get('agents') or []))})"
    if kind is EventKind.VERIFICATION:
        verdict = "passed" if p.get("passed") else "failed"
        return f"check {p.get('key')} {verdict} by {p.get('by')}{why}"
    if kind in (EventKind.APPROVAL_REQUEST, EventKind.INPUT_REQUEST):
        return f"waits for a human: {p.get('kind')} {p.get('name')} ({p.get('reason', '')})"
    if kind is EventKind.APPROVAL_DECISION:
        verdict = "approved" if p.get("approved") else "rejected"
        return f"{verdict} by {p.get('decided_by')}" + (
            f": {p['comment']}" if p.get("comment") else ""
        )
    if kind is EventKind.RUN_RESUMED:
        return "run resumed"
    if kind is EventKind.NOTICE:
        return f"notice: {p.get('code')} {p.get('message') or p.get('reason') or ''}".rstrip()
    return str(kind)
