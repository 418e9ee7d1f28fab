"""Approval gates inside a run: find the recorded decision, ask, or pause durably."""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import Any

from podium._engine._context import StepContext, bound
from podium._engine._replay import Decision, args_hash
from podium._engine._signals import GuardStop
from podium.approvals import Approval, ApprovalRequest, GateKind
from podium.events import EventKind
from podium.result import StopReason

__all__ = ["gate"]


def _to_decision(answer: Any, step: str, binding: str, kind: GateKind) -> Decision:
    if isinstance(answer, Approval):
        return Decision(
            step=step,
            approved=answer.approved,
            decided_by=answer.decided_by,
            binding=binding,
            comment=answer.comment,
            edited_arguments=answer.edited_arguments,
            answer=answer.answer,
        )
    if kind == "question" and isinstance(answer, str):
        return Decision(
            step=step, approved=True, decided_by="approver", binding=binding, answer=answer
        )
    if isinstance(answer, bool) or answer is None:
        return Decision(step=step, approved=bool(answer), decided_by="approver", binding=binding)
    # anything else ("no", {"approved": False}) is not a decision: rejected, never truthy
    return Decision(
        step=step,
        approved=False,
        decided_by="approver",
        binding=binding,
        comment=f"the approver returned {bound(repr(answer), 200)}, not an Approval or a bool; "
        "rejected to be safe",
    )


def _record(ctx: StepContext, path: str, decision: Decision) -> None:
    ctx.emit(
        EventKind.APPROVAL_DECISION,
        path=path,
        payload={
            "approved": decision.approved,
            "decided_by": decision.decided_by,
            "binding": decision.binding,
            "comment": decision.comment,
            "edited_arguments": decision.edited_arguments,
            "answer": decision.answer,
        },
    )


async def gate(
    ctx: StepContext,
    *,
    path: str,
    kind: GateKind,
    name: str,
    arguments: str,
    reason: str,
    expires_after: float | None = None,
    default_approve: bool = False,
    parameters: dict[str, Any] | None = None,
) -> Decision:
    """The decision for the gate at `path`; pauses the run when there is none yet.

    Order: a decision already in the log (bound to this exact call, else it is a
    rejection); an expired request gets the default decision; an in-process
    approver; otherwise an `approval_request` is recorded (with the tool's
    argument schema `parameters`, which an edit must fit) and the run stops with
    ``waiting_approval`` (``waiting_input`` for questions).
    """
    binding = args_hash(ctx.agent, name, arguments)
    replay = ctx.state.recorder.replay
    decision = replay.decision(path) if replay is not None else None
    if decision is None:
        decision = await _decide_now(
            ctx,
            path,
            kind,
            name,
            arguments,
            reason,
            binding,
            expires_after,
            default_approve,
            parameters,
        )
    if decision.binding and decision.binding != binding:
        ctx.emit(
            EventKind.SECURITY,
            path=path,
            payload={
                "reason": "approval_mismatch",
                "tool": name,
                "decided_by": decision.decided_by,
            },
        )
        return Decision(
            step=path,
            approved=False,
            decided_by=decision.decided_by,
            binding=binding,
            comment="the recorded decision was for a different "
            "call (agent, tool or arguments changed); rejected to be safe",
        )
    return decision


async def _decide_now(
    ctx: StepContext,
    path: str,
    kind: GateKind,
    name: str,
    arguments: str,
    reason: str,
    binding: str,
    expires_after: float | None,
    default_approve: bool,
    parameters: dict[str, Any] | None,
) -> Decision:
    replay = ctx.state.recorder.replay
    earlier = replay.requests.get(path) if replay is not None else None
    expires = earlier.get("expires_at") if earlier else None
    if expires is not None and time.time() >= float(expires):
        decision = Decision(
            step=path,
            approved=default_approve,
            decided_by="timeout",
            binding=binding,
            comment="no decision before the gate's timeout",
        )
        _record(ctx, path, decision)
        return decision
    request = ApprovalRequest(
        run_id=ctx.run_id,
        step=path,
        agent=ctx.agent,
        kind=kind,
        name=name,
        arguments=arguments,
        reason=reason,
        binding=binding,
        expires_at=(time.time() + expires_after) if expires_after is not None else None,
    )
    approver = ctx.state.approver
    if approver is not None:
        decision = await _ask_approver(approver, request, expires_after, default_approve)
        _record(ctx, path, decision)
        await ctx.state.recorder.flush()
        return decision
    ctx.emit(
        EventKind.INPUT_REQUEST if kind == "question" else EventKind.APPROVAL_REQUEST,
        path=path,
        payload={
            "kind": kind,
            "name": name,
            "arguments": bound(arguments),
            "reason": reason,
            "binding": binding,
            "expires_at": request.expires_at,
            **({"parameters": parameters} if parameters is not None else {}),
        },
    )
    await ctx.state.recorder.flush()
    stop = StopReason.WAITING_INPUT if kind == "question" else StopReason.WAITING_APPROVAL
    raise GuardStop(
        stop,
        f"{name} at {path} waits for a human ({reason})",
        path=path,
        agent=ctx.agent,
        data={"step": path},
    )


async def _ask_approver(
    approver: Any, request: ApprovalRequest, expires_after: float | None, default_approve: bool
) -> Decision:
    try:
        answer = approver(request)
        if inspect.isawaitable(answer):
            answer = (
                await asyncio.wait_for(answer, expires_after) if expires_after else await answer
            )
    except TimeoutError:
        return Decision(
            step=request.step,
            approved=default_approve,
            decided_by="timeout",
            binding=request.binding,
            comment="the approver did not answer in time",
        )
    return _to_decision(answer, request.step, request.binding, request.kind)
