"""The records `blame` returns, and how an event reads as one hop of a lineage."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from podium.events import Event, EventKind

__all__ = [
    "ClaimBlame",
    "Enclosure",
    "EntryBlame",
    "ErrorBlame",
    "FinalBlame",
    "Hop",
    "event_text",
    "hop",
]

_EXCERPT = 160
_SPACE = re.compile(r"\s+")


def event_text(e: Event) -> str:
    """The text an event carries (what a claim can be found in)."""
    p = e.payload
    kind = e.kind
    if kind is EventKind.MODEL_RESPONSE:
        calls = " ".join(str(c.get("arguments", "")) for c in p.get("tool_calls") or [])
        return f"{p.get('text', '')} {calls}".strip()
    if kind is EventKind.HANDOFF:
        extra = json.dumps(p["payload"], ensure_ascii=False) if p.get("payload") else ""
        return f"{p.get('reason', '')} {extra}".strip()
    for key in ("text", "result", "output", "value", "instructions", "arguments", "task", "detail"):
        if key in p:
            return str(p[key] or "")
    return str(p.get("message", ""))


def _label(e: Event, run_input: str) -> str:
    p = e.payload
    labels = {
        EventKind.MODEL_RESPONSE: f"model response ({p.get('model', '?')})",
        EventKind.TOOL_RESULT: f"tool {p.get('tool')} result",
        EventKind.TOOL_CALL: f"tool {p.get('tool')} call",
        EventKind.SUBTASK_END: f"subtask {p.get('id')} result",
        EventKind.STAGE_END: f"stage {p.get('stage')} output",
        EventKind.HANDOFF: f"handoff {p.get('from')} → {p.get('to')}",
        EventKind.CHAT_MESSAGE: f"chat message from {p.get('speaker')}",
        EventKind.BLACKBOARD_WRITE: f"blackboard {p.get('key')} v{p.get('version')}",
        EventKind.RUN_START: f"run input {run_input}" if run_input else "run task",
        EventKind.RUN_END: "final output",
        EventKind.ERROR: f"error {p.get('error', '')}".strip(),
        EventKind.SECURITY: f"security: {p.get('reason')}",
        EventKind.GUARD_STOP: f"guard stop {p.get('reason', '')}".strip(),
    }
    return labels.get(e.kind, str(e.kind))


def _excerpt(text: str, focus: str | None) -> str:
    text = _SPACE.sub(" ", text).strip()
    if len(text) <= _EXCERPT:
        return text
    start = 0
    if focus:
        at = text.lower().find(_SPACE.sub(" ", focus).strip().lower()[:40])
        start = max(0, at - 30) if at > 0 else 0
    cut = text[start : start + _EXCERPT]
    return ("…" if start else "") + cut + ("…" if start + _EXCERPT < len(text) else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class Hop:
    """One event on a lineage: where it is, who owns it, and what it said.

    Attributes:
        seq: the event's position in the log.
        path: its step path.
        agent: the agent (or team) that owns the step.
        kind: the event kind.
        label: a short description, e.g. ``subtask t2 result``.
        excerpt: the relevant part of its text.
        score: how well it matched the traced text (1.0 = contained), if matched.
    """

    seq: int
    path: str
    agent: str
    kind: str
    label: str
    excerpt: str
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "seq": self.seq,
            "path": self.path,
            "agent": self.agent,
            "kind": self.kind,
            "label": self.label,
            "excerpt": self.excerpt,
            "score": None if self.score is None else round(self.score, 3),
        }


def hop(
    e: Event, *, score: float | None = None, focus: str | None = None, run_input: str = ""
) -> Hop:
    """`e` as a hop; `focus` centers the excerpt on a claim."""
    text = str(e.payload.get("inputs", {}).get(run_input, "")) if run_input else event_text(e)
    return Hop(
        seq=e.seq,
        path=e.path,
        agent=e.agent,
        kind=str(e.kind),
        label=_label(e, run_input),
        excerpt=_excerpt(text, focus),
        score=score,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryBlame:
    """A blackboard entry's lineage: its write, what produced it, and its sources'."""

    key: str
    version: int
    write: Hop
    producer: Hop | None
    sources: list[EntryBlame] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (sources nested)."""
        return {
            "key": self.key,
            "version": self.version,
            "author": self.write.agent,
            "step": self.write.path,
            "write": self.write.to_dict(),
            "producer": self.producer.to_dict() if self.producer else None,
            "sources": [s.to_dict() for s in self.sources],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimBlame:
    """One claim of the final output and the hops from the output back to its origin."""

    claim: str
    origin: Hop | None
    hops: list[Hop]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "claim": self.claim,
            "origin": self.origin.to_dict() if self.origin else None,
            "hops": [h.to_dict() for h in self.hops],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class FinalBlame:
    """The final output, claim by claim."""

    output: str
    claims: list[ClaimBlame]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"output": self.output, "claims": [c.to_dict() for c in self.claims]}


@dataclass(frozen=True, slots=True, kw_only=True)
class Enclosure:
    """A step around the failing one: an agent, subtask, stage, team or the run."""

    path: str
    kind: str
    name: str
    agent: str
    team: str = ""
    subtask: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "path": self.path,
            "kind": self.kind,
            "name": self.name,
            "agent": self.agent,
            "team": self.team or None,
            "subtask": self.subtask or None,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorBlame:
    """The run's first failure.

    Attributes:
        step: the step blamed: the failed tool call that caused the error if
            there is one, else the step where the error was raised.
        agent: the agent owning `step`.
        error_type: the exception type (or the stop reason of a guard stop).
        code: the stable error code.
        message: the error message.
        surfaced: the error event (or the run end, for a guard stop).
        cause: the failed or refused tool call before the error, if any.
        enclosing: the steps around `step`, innermost first, up to the run.
        teams: the teams around `step`, innermost first.
    """

    step: str
    agent: str
    error_type: str
    code: str
    message: str
    surfaced: Hop
    cause: Hop | None
    enclosing: list[Enclosure]
    teams: list[str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "step": self.step,
            "agent": self.agent,
            "error": self.error_type,
            "code": self.code,
            "message": self.message,
            "surfaced": self.surfaced.to_dict(),
            "cause": self.cause.to_dict() if self.cause else None,
            "enclosing": [x.to_dict() for x in self.enclosing],
            "teams": self.teams,
        }
