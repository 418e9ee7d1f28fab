"""The run-log event record: every step of a run is one of these.

The stored form (see docs/events.md) is versioned by `EVENT_VERSION`; new fields
are added at the end with defaults so that old logs keep loading.
"""

from __future__ import annotations

import json
import json.encoder as json_encoder
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["EVENT_VERSION", "Event", "EventKind"]

EVENT_VERSION = 1

# one encoder for every payload: json.dumps with options builds a new one per call
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


# CPython's C encoder with the same options, built once (`JSONEncoder.encode`
# builds it again on every call); payloads are trees, so no cycle check. Its
# constructor is an implementation detail: anything unexpected falls back.
def _c_encoder() -> Any:
    make = getattr(json_encoder, "c_make_encoder", None)
    if make is None:
        return None
    try:
        encode = make(None, str, json_encoder.encode_basestring, None, ":", ",", False, False, True)
        probe = {"a": [1, 2.5, None, True, "é"]}
        if "".join(encode(probe, 0)) != _ENCODER.encode(probe):
            return None
    except Exception:
        return None
    return encode


_C_ENCODE = _c_encoder()


def compact_json(value: Any) -> str:
    """`value` as compact JSON text, non-ASCII kept (the stored form of payloads)."""
    if _C_ENCODE is not None:
        return "".join(_C_ENCODE(value, 0))
    return _ENCODER.encode(value)


class EventKind(StrEnum):
    """What an event records."""

    RUN_START = "run_start"
    RUN_END = "run_end"
    AGENT_START = "agent_start"
    AGENT_END = "agent_end"
    MODEL_REQUEST = "model_request"
    MODEL_RESPONSE = "model_response"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    PLAN = "plan"
    SUBTASK_START = "subtask_start"
    SUBTASK_END = "subtask_end"
    SECURITY = "security"
    ERROR = "error"
    BLACKBOARD_WRITE = "blackboard_write"
    BLACKBOARD_STATUS = "blackboard_status"
    STAGE_START = "stage_start"
    STAGE_END = "stage_end"
    CHAT_MESSAGE = "chat_message"
    HANDOFF = "handoff"
    NOTICE = "notice"
    GUARD_STOP = "guard_stop"
    LOOP_DETECTED = "loop_detected"
    VERIFICATION = "verification"
    RUN_RESUMED = "run_resumed"
    APPROVAL_REQUEST = "approval_request"
    APPROVAL_DECISION = "approval_decision"
    INPUT_REQUEST = "input_request"


@dataclass(slots=True, kw_only=True)
class Event:
    """One step of a run.

    Attributes:
        run_id: the run.
        seq: position in the run's log, from 0, assigned when recorded.
        path: deterministic step path, e.g. ``root/task[t1]/researcher/model#0``.
        parent: the parent step's path ("" for the run itself).
        agent: the agent (or team) that owns the step.
        kind: what happened.
        started_at: wall-clock start, seconds since the epoch.
        ended_at: wall-clock end (equal to `started_at` for instant events).
        input_tokens: model input tokens (model responses only).
        output_tokens: model output tokens (model responses only).
        cost_usd: cost of the step in USD (model responses only).
        payload: kind-specific details, already redacted and bounded.
        v: the event schema version it was written with.
    """

    run_id: str
    seq: int = -1
    path: str
    parent: str
    agent: str
    kind: EventKind
    started_at: float
    ended_at: float
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    payload: dict[str, Any] = field(default_factory=dict)
    v: int = EVENT_VERSION
    _json: str | None = field(default=None, repr=False, compare=False)

    @property
    def latency_s(self) -> float:
        """Seconds between start and end."""
        return self.ended_at - self.started_at

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON form (one JSONL line of an export)."""
        return {
            "v": self.v,
            "run_id": self.run_id,
            "seq": self.seq,
            "path": self.path,
            "parent": self.parent,
            "agent": self.agent,
            "kind": str(self.kind),
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
            "payload": self.payload,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        """Load the JSON form; unknown future fields are ignored."""
        return cls(
            run_id=data["run_id"],
            seq=int(data.get("seq", -1)),
            path=data["path"],
            parent=data.get("parent", ""),
            agent=data.get("agent", ""),
            kind=EventKind(data["kind"]),
            started_at=float(data["started_at"]),
            ended_at=float(data.get("ended_at", data["started_at"])),
            input_tokens=int(data.get("input_tokens", 0)),
            output_tokens=int(data.get("output_tokens", 0)),
            cost_usd=float(data.get("cost_usd", 0.0)),
            payload=dict(data.get("payload") or {}),
            v=int(data.get("v", 1)),
        )

    def payload_json(self) -> str:
        """The payload as compact JSON text (computed once)."""
        if self._json is None:
            self._json = compact_json(self.payload)
        return self._json


_new = object.__new__


def make_event(
    run_id: str,
    seq: int,
    path: str,
    parent: str,
    agent: str,
    kind: EventKind,
    started_at: float,
    ended_at: float,
    payload: dict[str, Any],
) -> Event:
    """`Event(...)` with these fields and the rest at their defaults, built faster.

    The recorder makes one per step; the generated keyword-only ``__init__``
    costs about three times as much. tests/test_events.py checks that both agree.
    """
    event = _new(Event)
    event.run_id = run_id
    event.seq = seq
    event.path = path
    event.parent = parent
    event.agent = agent
    event.kind = kind
    event.started_at = started_at
    event.ended_at = ended_at
    event.input_tokens = 0
    event.output_tokens = 0
    event.cost_usd = 0.0
    event.payload = payload
    event.v = EVENT_VERSION
    event._json = None
    return event
