"""Human oversight: approval gates, questions to a human, and recorded decisions.

A gate (a tool with ``needs_approval=True``, a pipeline stage with
``approval=True``, an interrupted write, or the `ask_human` tool) records an
`ApprovalRequest` and pauses the run (``waiting_approval`` / ``waiting_input``)
unless an in-process approver answers. A decision is recorded in the run log —
from any process — and `resume` continues the run. A decision is bound to the
exact call (agent, tool, hash of the arguments); one that does not match is
treated as a rejection.
"""

from __future__ import annotations

import getpass
import json
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import create_model

from podium.errors import ConfigError, RunBusy
from podium.events import Event, EventKind
from podium.observe._redact import default_redactor
from podium.store import RunStore
from podium.tools._tool import Tool, ToolContext

__all__ = [
    "Approval",
    "ApprovalRequest",
    "Approver",
    "NeedsHumanInput",
    "PendingApproval",
    "ask_human",
    "decide",
    "pending_approvals",
]

GateKind = Literal["tool", "interrupted_write", "stage", "question"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalRequest:
    """What a human is asked to decide.

    Attributes:
        run_id: the run.
        step: the gate's step path (what `podium approve RUN STEP` names).
        agent: who asked.
        kind: ``tool``, ``interrupted_write``, ``stage`` or ``question``.
        name: the tool or stage name.
        arguments: the call's arguments (JSON text), or the question.
        reason: why approval is needed.
        binding: hash binding a decision to this exact call.
        expires_at: when the default decision applies (None: never).
    """

    run_id: str
    step: str
    agent: str
    kind: GateKind
    name: str
    arguments: str
    reason: str
    binding: str
    expires_at: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Approval:
    """A decision: approve or reject, optionally with edited arguments or an answer."""

    approved: bool
    comment: str = ""
    edited_arguments: str | None = None
    answer: str | None = None
    decided_by: str = "approver"


#: An in-process approver: gets the request, returns an `Approval`, a bool, or
#: (for questions) the answer text; may be async.
Approver = Callable[[ApprovalRequest], Any | Awaitable[Any]]


class NeedsHumanInput(Exception):  # a signal raised by `ask_human`
    """Raised by the `ask_human` tool; the engine turns it into a durable pause."""

    def __init__(self, question: str) -> None:
        self.question = question
        super().__init__(question)


async def _ask(question: str, ctx: ToolContext) -> str:
    raise NeedsHumanInput(question)


ask_human: Tool = Tool(
    name="ask_human",
    description="Ask a human a clarifying question and wait for the answer.",
    fn=_ask,
    args_model=create_model("ask_human_args", question=(str, ...)),
    context_param="ctx",
    is_async=True,
)
"""A tool an agent can use to ask a human; the run pauses until it is answered."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingApproval:
    """A gate waiting for a decision, as `podium approvals` lists it."""

    run_id: str
    step: str
    agent: str
    kind: str
    name: str
    arguments: str
    reason: str
    requested_at: float
    expires_at: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _pending(events: list[Event]) -> dict[str, Event]:
    open_: dict[str, Event] = {}
    for e in events:
        if e.kind in (EventKind.APPROVAL_REQUEST, EventKind.INPUT_REQUEST):
            open_[e.path] = e
        elif e.kind is EventKind.APPROVAL_DECISION:
            open_.pop(e.path, None)
    return open_


async def pending_approvals(store: RunStore, *, limit: int = 200) -> list[PendingApproval]:
    """Gates waiting for a decision, across the most recent runs."""
    out = []
    for run in await store.list_runs(limit):
        if run.status not in ("waiting_approval", "waiting_input"):
            continue
        for step, e in _pending(await store.events(run.run_id)).items():
            p = e.payload
            out.append(
                PendingApproval(
                    run_id=run.run_id,
                    step=step,
                    agent=e.agent,
                    kind=str(p.get("kind", "")),
                    name=str(p.get("name", "")),
                    arguments=str(p.get("arguments", "")),
                    reason=str(p.get("reason", "")),
                    requested_at=e.started_at,
                    expires_at=p.get("expires_at"),
                )
            )
    return out


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def _misfit(value: Any, schema: dict[str, Any]) -> str | None:
    """Why `value` does not fit a property's schema (only simple checks), or None."""
    if "enum" in schema and value not in schema["enum"]:
        return f"must be one of {schema['enum']}"
    names = schema.get("type")
    if names is None:
        return None  # anyOf, $ref ...: left to the tool's own validation
    names = [names] if isinstance(names, str) else list(names)
    for name in names:
        kinds = _JSON_TYPES.get(name, (object,))
        if isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds):
            return None
    return f"must be {' or '.join(names)}"


def _check_edit(request: Event, edited: str) -> None:
    """Refuse edited arguments the gated tool could not run with, now rather than on resume."""
    where = f"--edit for {request.path!r}"
    if request.payload.get("kind") not in ("tool", "interrupted_write"):
        raise ConfigError(f"{where}: only a tool call's arguments can be edited")
    if default_redactor().scrub(edited) != edited:
        raise ConfigError(
            f"{where} holds a secret, which is never stored, so the tool would get "
            "[REDACTED] instead; give secrets to tools through the environment"
        )
    try:
        arguments = json.loads(edited)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where} is not valid JSON ({exc.msg} at {exc.pos})") from None
    if not isinstance(arguments, dict):
        raise ConfigError(f"{where} must be a JSON object of the tool's arguments")
    schema = request.payload.get("parameters")
    if not isinstance(schema, dict):
        return  # recorded before podium kept the schema: the tool checks on resume
    properties: dict[str, Any] = schema.get("properties", {})
    problems = [f"{k}: missing" for k in schema.get("required", []) if k not in arguments]
    for key, value in arguments.items():
        if key not in properties:
            if not schema.get("additionalProperties"):
                problems.append(f"{key}: not an argument of {request.payload.get('name')!r}")
            continue
        why = _misfit(value, properties[key])
        if why:
            problems.append(f"{key}: {why}")
    if problems:
        expected = ", ".join(properties) or "none"
        raise ConfigError(
            f"{where} does not fit the tool's arguments ({expected}): {'; '.join(problems)}"
        )


def _who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


async def decide(
    store: RunStore,
    run_id: str,
    step: str,
    approval: Approval,
    *,
    lease_ttl: float = 30.0,
) -> Event:
    """Record a decision for the pending gate at `step` of `run_id`.

    Raises:
        ConfigError: no such run, no pending gate at that step, an answer to a
            gate that asks for approval, an approval after the gate timed out,
            or edited arguments the tool could not run with (not a JSON object
            that fits its schema, a secret in them, or a gate that is no tool
            call).
        RunBusy: a live process is running the run right now.
    """
    run = await store.get_run(run_id)
    if run is None:
        raise ConfigError(f"no run {run_id!r} in the store")
    owner = f"decide:{_who()}:{time.time()}"
    if not await store.acquire_lease(run.run_id, owner, lease_ttl):
        raise RunBusy(
            "another process is running this run; decide once it has paused", run_id=run.run_id
        )
    try:
        events = await store.events(run.run_id)
        request = _pending(events).get(step)
        if request is None:
            steps = ", ".join(_pending(events)) or "none"
            decided = [
                e for e in events if e.kind is EventKind.APPROVAL_DECISION and e.path == step
            ]
            if decided:  # decided already: say by whom, not just "no pending gate"
                last = decided[-1].payload
                verdict = "approved" if last.get("approved") else "rejected"
                raise ConfigError(
                    f"{step!r} of run {run.run_id} was already {verdict} by "
                    f"{last.get('decided_by')} (pending: {steps})"
                )
            raise ConfigError(
                f"run {run.run_id} has no pending gate at {step!r} (pending: {steps})"
            )
        if approval.answer is not None and request.kind is not EventKind.INPUT_REQUEST:
            # an answer would approve the gate whatever it says ("no, don't send it")
            raise ConfigError(
                f"{step!r} of run {run.run_id} asks for approval, not an answer; "
                "decide with podium approve or podium reject"
            )
        expires_at = request.payload.get("expires_at")
        if approval.approved and expires_at is not None and time.time() >= float(expires_at):
            # the time to approve is up; a rejection is still taken (it never acts)
            raise ConfigError(
                f"the gate {step!r} of run {run.run_id} timed out at "
                f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(float(expires_at)))}, "
                f"too late to approve it: its approval_default applies on podium resume "
                f"{run.run_id}"
            )
        if approval.approved and approval.edited_arguments is not None:
            _check_edit(request, approval.edited_arguments)
        decided_by = approval.decided_by if approval.decided_by != "approver" else _who()
        event = Event(
            run_id=run.run_id,
            seq=max(e.seq for e in events) + 1,
            path=step,
            parent=request.parent,
            agent=request.agent,
            kind=EventKind.APPROVAL_DECISION,
            started_at=time.time(),
            ended_at=time.time(),
            # redacted as the engine redacts every event it records
            payload=default_redactor().scrub_obj(
                {
                    "approved": approval.approved,
                    "decided_by": decided_by,
                    "binding": request.payload.get("binding", ""),
                    "comment": approval.comment,
                    "edited_arguments": approval.edited_arguments,
                    "answer": approval.answer,
                }
            ),
        )
        await store.append([event])
        return event
    finally:
        await store.release_lease(run.run_id, owner)
