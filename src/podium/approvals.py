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
        ConfigError: no such run, no pending gate at that step, or an answer
            to a gate that asks for approval.
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
            raise ConfigError(
                f"run {run.run_id} has no pending gate at {step!r} (pending: {steps})"
            )
        if approval.answer is not None and request.kind is not EventKind.INPUT_REQUEST:
            # an answer would approve the gate whatever it says ("no, don't send it")
            raise ConfigError(
                f"{step!r} of run {run.run_id} asks for approval, not an answer; "
                "decide with podium approve or podium reject"
            )
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
