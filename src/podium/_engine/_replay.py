"""Memoized replay: a resumed run re-executes its code; recorded steps answer from the log.

Every model call and tool call is recorded under its deterministic step path
before its result is used. On resume the team runs again from the top: a step
whose result is in the log returns it at once (its request hash must match), and
only unfinished steps execute. Events the log already has are not written twice.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from podium.errors import ReplayDivergence
from podium.events import Event, EventKind
from podium.messages import Message, ToolCall
from podium.models._base import ModelRequest, ModelResponse, Usage
from podium.observe._redact import REDACTED

__all__ = ["UNFINISHED", "Decision", "ReplayLog", "request_hash"]

#: Kinds that a resumed run always writes anew: they describe this attempt (a
#: failure or stop that happens again is a new fact, not a duplicate).
#: The statuses of a step's end that an attempt's stop cut short (it runs on on resume).
UNFINISHED = frozenset({"stopped", "cancelled"})

_ALWAYS = frozenset(
    {
        EventKind.RUN_START,
        EventKind.RUN_END,
        EventKind.RUN_RESUMED,
        EventKind.GUARD_STOP,
        EventKind.ERROR,
    }
)


#: Hash states after ``model`` and a first (system) message, per message object:
#: an agent's system message is one object across its calls (see `_loop._setup`).
_PREFIXES: dict[tuple[str, int], tuple[Message, Any]] = {}
_MAX_PREFIXES = 512


def _message_bytes(m: Message) -> bytes:
    data = b"\x00" + m.role.encode() + b"\x01" + m.content.encode()
    for c in m.tool_calls:
        data += b"\x02" + c.name.encode() + b"\x03" + c.arguments.encode()
    if m.tool_call_id:
        data += b"\x04" + m.tool_call_id.encode()
    return data


#: The bytes that open a message of each role (`_message_bytes` up to its content).
_OPENING = {role: b"\x00" + role.encode() + b"\x01" for role in ("user", "assistant", "tool")}


def request_hash(model: str, request: ModelRequest) -> str:
    """A stable hash of what a model call depends on (not of budget clamping).

    Recorded runs keep these hashes: the bytes hashed must never change. They are
    fed to the hash piece by piece (the same digest as hashing them joined).
    """
    messages = request.messages
    if messages:
        first = messages[0]
        key = (model, id(first))
        known = _PREFIXES.get(key)
        if known is not None and known[0] is first:
            h = known[1].copy()
        else:
            prefix = hashlib.blake2b(model.encode() + _message_bytes(first), digest_size=16)
            if len(_PREFIXES) >= _MAX_PREFIXES:
                _PREFIXES.clear()
            _PREFIXES[key] = (first, prefix)  # holds `first`, so its id is not reused
            h = prefix.copy()
    else:
        h = hashlib.blake2b(model.encode(), digest_size=16)
    update = h.update
    for i in range(1, len(messages)):
        m = messages[i]
        opening = _OPENING.get(m.role)
        if opening is None or m.tool_calls or m.tool_call_id:
            update(_message_bytes(m))
        else:  # a plain message: no joined copy of its content
            update(opening)
            update(m.content.encode())
    for t in request.tools:
        update(b"\x05" + t.name.encode() + b"\x06" + t.description.encode())
        update(json.dumps(t.parameters, sort_keys=True).encode())
    update(b"\x07" + (request.output_name or "").encode())
    digest: str = h.hexdigest()
    return digest


def args_hash(agent: str, tool: str, arguments: str) -> str:
    """Binds an approval to one exact call: agent, tool and its arguments."""
    try:
        canonical = json.dumps(json.loads(arguments or "{}"), sort_keys=True)
    except json.JSONDecodeError:
        canonical = arguments
    return hashlib.sha256(f"{agent}\0{tool}\0{canonical}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """A recorded human decision on an approval gate or question."""

    step: str
    approved: bool
    decided_by: str
    binding: str = ""
    comment: str = ""
    edited_arguments: str | None = None
    answer: str | None = None


@dataclass(slots=True, kw_only=True)
class ReplayLog:
    """What an earlier attempt of a run recorded, indexed by step path."""

    events: list[Event]
    reexecute_on_divergence: bool = False
    models: dict[str, tuple[str, ModelResponse]] = field(default_factory=dict)
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)
    started_tools: set[str] = field(default_factory=set)
    decisions: dict[str, Decision] = field(default_factory=dict)
    #: gates whose decision an attempt may have acted on already (see `rerun_gate`)
    acted: set[str] = field(default_factory=set)
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    recorded: Counter[tuple[str, str]] = field(default_factory=Counter)
    emitted: Counter[tuple[str, str]] = field(default_factory=Counter)
    active: bool = True

    def __post_init__(self) -> None:
        hashes: dict[str, str] = {}
        live = False  # an attempt was running when the event was recorded
        for e in self.events:
            # a step stopped or cancelled by the attempt's end runs on now: its new
            # end is recorded too (else the log would end it as stopped for good)
            if e.payload.get("status") not in UNFINISHED:
                self.recorded[(e.path, str(e.kind))] += 1
            kind = e.kind
            if kind is EventKind.MODEL_REQUEST:
                hashes[e.path] = str(e.payload.get("request_hash", ""))
            elif kind is EventKind.MODEL_RESPONSE:
                self.models[e.path] = (hashes.get(e.path, ""), _response(e))
            elif kind is EventKind.TOOL_CALL:
                self.started_tools.add(e.path)
            elif kind is EventKind.TOOL_RESULT:
                self.tools[e.path] = dict(e.payload)
            elif kind in (EventKind.APPROVAL_REQUEST, EventKind.INPUT_REQUEST):
                self.requests[e.path] = dict(e.payload)
            elif kind is EventKind.APPROVAL_DECISION:
                self.decisions[e.path] = _decision(e)
                if live:  # decided inside an attempt, which may have acted on it
                    self.acted.add(e.path)
                else:
                    self.acted.discard(e.path)
            elif kind in (EventKind.RUN_START, EventKind.RUN_RESUMED):
                live = True
                self.acted.update(self.decisions)
            elif kind is EventKind.RUN_END:
                live = False

    @property
    def next_seq(self) -> int:
        """The seq the next new event gets."""
        return max((e.seq for e in self.events), default=-1) + 1

    def suppress(self, path: str, kind: EventKind) -> bool:
        """True if this event was already recorded by an earlier attempt."""
        if not self.active or kind in _ALWAYS:
            return False
        key = (path, str(kind))
        self.emitted[key] += 1
        return self.emitted[key] <= self.recorded[key]

    def model(self, path: str, model: str, request: ModelRequest) -> ModelResponse | None:
        """The recorded answer of the model call at `path`, if there is one.

        Raises:
            ReplayDivergence: the recorded request differs from this one.
        """
        if not self.active or path not in self.models:
            return None
        recorded_hash, response = self.models[path]
        if recorded_hash and recorded_hash != request_hash(model, request):
            if self.reexecute_on_divergence:
                self.active = False  # from here on, everything executes again
                return None
            if any(REDACTED in m.content for m in request.messages):
                why = (
                    "the run's task or inputs held a secret, which is never stored, so this "
                    "prompt cannot be rebuilt as it was; give secrets to tools through the "
                    "environment, not in the task"
                )
            else:
                why = "the team's instructions, tools or inputs changed since the run was recorded"
            raise ReplayDivergence(
                f"step {path}: the model request differs from the recorded one ({why}); "
                "resume with re-execution to run from this step again, or fork the run",
                step=path,
            )
        return response

    def tool(self, path: str) -> dict[str, Any] | None:
        """The recorded result payload of the tool call at `path`."""
        return self.tools.get(path) if self.active else None

    def interrupted(self, path: str) -> bool:
        """True when the tool call at `path` started but its result was never recorded."""
        return self.active and path in self.started_tools and path not in self.tools

    def rerun_gate(self, path: str) -> str:
        """The gate deciding whether the interrupted write at `path` may run again.

        A decision that an attempt may have acted on (the tool may have run since)
        never approves another run: each interruption asks anew, at
        ``path/rerun#N``.
        """
        gate, n = path, 0
        while gate in self.acted:
            gate, n = f"{path}/rerun#{n}", n + 1
        return gate

    def decision(self, path: str) -> Decision | None:
        """The human decision recorded for the gate at `path`."""
        return self.decisions.get(path)


def _response(e: Event) -> ModelResponse:
    p = e.payload
    calls = tuple(
        ToolCall(
            id=str(c.get("id", "")),
            name=str(c.get("name", "")),
            arguments=str(c.get("arguments", "")),
        )
        for c in p.get("tool_calls", [])
    )
    return ModelResponse(
        text=str(p.get("text", "")),
        tool_calls=calls,
        usage=Usage(
            input_tokens=e.input_tokens, output_tokens=e.output_tokens, cost_usd=e.cost_usd
        ),
        model=str(p.get("model", "")),
        finish_reason=p.get("finish_reason", "stop"),
    )


def _decision(e: Event) -> Decision:
    p = e.payload
    return Decision(
        step=e.path,
        approved=bool(p.get("approved")),
        decided_by=str(p.get("decided_by", "")),
        binding=str(p.get("binding", "")),
        comment=str(p.get("comment", "")),
        edited_arguments=p.get("edited_arguments"),
        answer=p.get("answer"),
    )
