"""Executing one tool call for an agent, with its allow-list enforced."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ValidationError

from podium._engine._context import StepContext, bound
from podium._engine._gates import gate
from podium._engine._signals import HandoffRequested, Transfer
from podium.approvals import ask_human
from podium.events import EventKind
from podium.guards._verify import failing_evidence
from podium.memory._blackboard import json_default
from podium.messages import ToolCall
from podium.tools._tool import Tool, ToolContext, ToolTimeout

__all__ = ["ToolOutcome", "execute_tool"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolOutcome:
    """What goes back to the model, and whether the call itself was malformed."""

    text: str
    malformed: bool = False


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    try:
        return json.dumps(value, ensure_ascii=False, default=json_default)
    except (TypeError, ValueError):
        return repr(value)


def _refuse(ctx: StepContext, path: str, call: ToolCall, tools: Mapping[str, Tool]) -> ToolOutcome:
    ctx.emit(
        EventKind.SECURITY,
        path=path,
        payload={
            "reason": "tool_not_allowed",
            "tool": call.name,
            "arguments": bound(call.arguments, 2_000),
            "allowed": sorted(tools),
        },
    )
    allowed = ", ".join(sorted(tools)) or "none"
    return ToolOutcome(
        text=f"error: tool {call.name!r} is not available to you. Tools you may call: {allowed}.",
        malformed=True,
    )


def _parse_args(call: ToolCall, tool: Tool) -> dict[str, Any] | str:
    """Validated arguments, or an error text for the model."""
    try:
        raw = json.loads(call.arguments) if call.arguments.strip() else {}
    except json.JSONDecodeError as exc:
        return f"error: arguments for {tool.name!r} are not valid JSON ({exc.msg} at {exc.pos})."
    if not isinstance(raw, dict):
        return f"error: arguments for {tool.name!r} must be a JSON object."
    try:
        return tool.validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(arguments)'}: {e['msg']}"
            for e in exc.errors()[:10]
        )
        return f"error: invalid arguments for {tool.name!r}: {problems}."


def _replayed(ctx: StepContext, path: str, tool: Tool, recorded: dict[str, Any]) -> ToolOutcome:
    """A recorded tool result, returned without running the tool again."""
    if recorded.get("failing"):
        ctx.state.tool_log.append((path, tool.name, {"passed": False}))
    handoff = recorded.get("handoff")
    if handoff:
        raise HandoffRequested(
            Transfer(
                sender=ctx.agent,
                target=str(handoff["target"]),
                reason=str(handoff["reason"]),
                payload=handoff.get("payload"),
                step=path,
            )
        )
    return ToolOutcome(
        text=str(recorded.get("result", "")), malformed=bool(recorded.get("malformed"))
    )


@dataclass(slots=True)
class _Result:
    text: str
    ok: bool = False
    malformed: bool = False
    extra: dict[str, Any] | None = None
    handoff: HandoffRequested | None = None


async def _approve(
    ctx: StepContext, path: str, tool: Tool, call: ToolCall, args: dict[str, Any]
) -> dict[str, Any] | _Result:
    """Pass the tool's gate if it has one; returns the arguments to run with."""
    replay = ctx.state.recorder.replay
    risky_rerun = (
        replay is not None
        and replay.interrupted(path)
        and tool.effect == "write"
        and not tool.idempotent
    )
    if not (tool.needs_approval or risky_rerun):
        return args
    # an approval the interrupted attempt may have used does not run the tool again
    at = replay.rerun_gate(path) if risky_rerun and replay is not None else path
    asks_approval = tool.needs_approval and at == path
    reason = (
        "the tool needs approval"
        if asks_approval
        else "a write was interrupted before its result was recorded; it may have run"
    )
    decision = await gate(
        ctx,
        path=at,
        kind="tool" if asks_approval else "interrupted_write",
        name=tool.name,
        arguments=call.arguments,
        reason=reason,
        expires_after=tool.approval_timeout,
        default_approve=tool.approval_default == "approve",
        parameters=tool.spec.parameters,
    )
    detail = {
        "decision": {
            "approved": decision.approved,
            "decided_by": decision.decided_by,
            "comment": decision.comment,
        }
    }
    if not decision.approved:
        why = decision.comment or "no reason given"
        return _Result(
            text=f"rejected by {decision.decided_by}: {why}. The call was not executed.",
            extra=detail,
        )
    if decision.edited_arguments:
        edited = _parse_args(replace(call, arguments=decision.edited_arguments), tool)
        if isinstance(edited, str):
            return _Result(
                text=f"the approver's edited arguments are invalid: {edited}", extra=detail
            )
        return edited
    return args


async def _run(
    ctx: StepContext, path: str, tool: Tool, call: ToolCall, args: dict[str, Any] | str
) -> _Result:
    if isinstance(args, str):
        return _Result(text=args, malformed=True)
    approved = await _approve(ctx, path, tool, call, args)
    if isinstance(approved, _Result):
        return approved
    if tool.fn is ask_human.fn:
        decision = await gate(
            ctx,
            path=path,
            kind="question",
            name=tool.name,
            arguments=str(approved.get("question", "")),
            reason="the agent asks a human",
        )
        return _Result(text=decision.answer or "(no answer)", ok=True)
    if tool.effect == "write":  # the call is on record before its side effect happens
        await ctx.state.recorder.flush()
    tool_ctx = ToolContext(run_id=ctx.run_id, step=path, agent=ctx.agent)
    try:
        value = await tool.call(approved, tool_ctx)
    except HandoffRequested as handoff:
        handoff.transfer = replace(handoff.transfer, sender=ctx.agent, step=path)
        t = handoff.transfer
        payload = (
            t.payload.model_dump(mode="json") if isinstance(t.payload, BaseModel) else t.payload
        )
        return _Result(
            text=f"transferring to {t.target}",
            ok=True,
            handoff=handoff,
            extra={"handoff": {"target": t.target, "reason": t.reason, "payload": payload}},
        )
    except ToolTimeout as exc:
        return _Result(text=f"error: {exc}.")
    except Exception as exc:  # the tool's failure is the model's to handle
        ctx.state.tool_log.append((path, tool.name, exc))
        return _Result(
            text=bound(f"error: {tool.name!r} raised {type(exc).__name__}: {exc}"),
            extra={"failing": True},
        )
    ctx.state.tool_log.append((path, tool.name, value))
    failing = failing_evidence(value)
    return _Result(
        text=bound(_render(value)), ok=True, extra={"failing": failing} if failing else None
    )


async def execute_tool(
    ctx: StepContext, call: ToolCall, tools: Mapping[str, Tool], index: int
) -> ToolOutcome:
    """Run `call` if the agent holds the tool; every outcome is recorded.

    Tool exceptions, timeouts, malformed JSON and schema errors become error
    texts for the model. A tool the agent does not hold is never executed: the
    model gets an error and a security event is recorded. On resume, a recorded
    result is returned without running the tool again.
    """
    path = f"{ctx.path}/tool[{call.name}]#{index}"
    tool = tools.get(call.name)
    if tool is None:
        outcome = _refuse(ctx, path, call, tools)
        await ctx.state.recorder.flush()
        return outcome
    replay = ctx.state.recorder.replay
    recorded = replay.tool(path) if replay is not None else None
    if recorded is not None:
        return _replayed(ctx, path, tool, recorded)
    started = time.time()
    args = _parse_args(call, tool)
    ctx.emit(
        EventKind.TOOL_CALL,
        path=path,
        payload={
            "tool": tool.name,
            "call_id": call.id,
            "arguments": bound(call.arguments),
            "effect": tool.effect,
        },
    )
    result = await _run(ctx, path, tool, call, args)
    ctx.emit(
        EventKind.TOOL_RESULT,
        path=path,
        started_at=started,
        payload={
            "tool": tool.name,
            "call_id": call.id,
            "ok": result.ok,
            "malformed": result.malformed,
            "result": result.text,
            **(result.extra or {}),
        },
    )
    await ctx.state.recorder.flush()
    if result.handoff is not None:
        raise result.handoff
    return ToolOutcome(text=result.text, malformed=result.malformed)
