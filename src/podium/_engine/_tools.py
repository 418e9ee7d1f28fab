"""Executing one tool call for an agent, with its allow-list enforced."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ValidationError

from podium._engine._context import StepContext, bound
from podium._engine._signals import HandoffRequested
from podium.events import EventKind
from podium.messages import ToolCall
from podium.tools._tool import Tool, ToolContext

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
        return json.dumps(value, ensure_ascii=False, default=str)
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


async def execute_tool(
    ctx: StepContext, call: ToolCall, tools: Mapping[str, Tool], index: int
) -> ToolOutcome:
    """Run `call` if the agent holds the tool; every outcome is recorded.

    Tool exceptions, timeouts, malformed JSON and schema errors become error
    texts for the model. A tool the agent does not hold is never executed: the
    model gets an error and a security event is recorded.
    """
    path = f"{ctx.path}/tool[{call.name}]#{index}"
    tool = tools.get(call.name)
    if tool is None:
        outcome = _refuse(ctx, path, call, tools)
        await ctx.state.recorder.flush()
        return outcome
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
    ok = False
    malformed = False
    if isinstance(args, str):
        text, malformed = args, True
    elif tool.needs_approval:
        text = (
            f"error: {tool.name!r} needs human approval and this run has no approval "
            "handler; the call was not executed."
        )
    else:
        if tool.effect == "write":  # the call is on record before its side effect happens
            await ctx.state.recorder.flush()
        tool_ctx = ToolContext(run_id=ctx.run_id, step=path, agent=ctx.agent)
        try:
            value = await tool.call(args, tool_ctx)
            ctx.state.tool_log.append((path, tool.name, value))
            text = bound(_render(value))
            ok = True
        except HandoffRequested as handoff:
            handoff.transfer = replace(handoff.transfer, sender=ctx.agent, step=path)
            ctx.emit(
                EventKind.TOOL_RESULT,
                path=path,
                started_at=started,
                payload={
                    "tool": tool.name,
                    "call_id": call.id,
                    "ok": True,
                    "malformed": False,
                    "result": f"transferring to {handoff.transfer.target}",
                },
            )
            await ctx.state.recorder.flush()
            raise
        except TimeoutError:
            text = f"error: {tool.name!r} timed out after {tool.timeout:g}s."
        except Exception as exc:  # the tool's failure is the model's to handle
            ctx.state.tool_log.append((path, tool.name, exc))
            text = bound(f"error: {tool.name!r} raised {type(exc).__name__}: {exc}")
    ctx.emit(
        EventKind.TOOL_RESULT,
        path=path,
        started_at=started,
        payload={
            "tool": tool.name,
            "call_id": call.id,
            "ok": ok,
            "malformed": malformed,
            "result": text,
        },
    )
    await ctx.state.recorder.flush()
    return ToolOutcome(text=text, malformed=malformed)
