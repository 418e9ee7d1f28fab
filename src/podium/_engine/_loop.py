"""One agent's tool-calling loop: prompt, call the model, run tools, repeat."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from pydantic import BaseModel

from podium._engine._context import MAX_TEXT_CHARS, StepContext, Task, bound
from podium._engine._output import OutputCheck, output_instruction, parse_output, schema_of
from podium._engine._replay import request_hash
from podium._engine._signals import GuardStop, HandoffRequested, mark_recorded
from podium._engine._tools import execute_tool
from podium.errors import IncompleteResponse, OutputValidationError, ProviderError, ToolError
from podium.events import EventKind
from podium.guards._budget import BudgetExhausted, BudgetLedger, Reservation
from podium.memory._blackboard import render_entries
from podium.messages import Message, ToolCall
from podium.models._base import Model, ModelRequest, ModelResponse, make_request
from podium.models._pricing import price_of
from podium.result import StopReason
from podium.tools._tool import Tool

__all__ = ["AgentLike", "LoopOptions", "render_task", "run_loop"]


class AgentLike(Protocol):
    """What the loop needs from an agent."""

    name: str
    role: str
    instructions: str
    tools: Sequence[Tool]
    max_turns: int
    max_tokens: int
    temperature: float | None
    max_malformed_tool_calls: int

    def resolved_model(self) -> Model:
        """The model to call."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class LoopOptions:
    """Per-invocation overrides (patterns use these, e.g. the planner's plan schema)."""

    output_type: type[Any] = str
    check: OutputCheck | None = None
    extra_system: str = ""
    extra_tools: tuple[Tool, ...] = ()


def system_prompt(agent: AgentLike, options: LoopOptions) -> str:
    """The agent's system message."""
    parts = [f"You are {agent.name}" + (f", {agent.role}." if agent.role else ".")]
    if agent.instructions:
        parts.append(agent.instructions.strip())
    if options.extra_system:
        parts.append(options.extra_system.strip())
    if isinstance(options.output_type, type) and issubclass(options.output_type, BaseModel):
        parts.append(output_instruction(options.output_type))
    return "\n\n".join(parts)


def render_task(task: Task) -> str:
    """The user message: the task, its inputs and the results it builds on."""
    parts = [task.text.strip()]
    if task.inputs:
        parts.append("## Inputs\n" + "\n".join(f"- {k}: {v}" for k, v in task.inputs.items()))
    if task.context:
        parts.append(
            "## Results you can use\n"
            + "\n\n".join(f"### {label}\n{text.strip()}" for label, text in task.context)
        )
    if task.memory:
        parts.append("## Shared memory\n" + render_entries(task.memory))
    if task.feedback:
        parts.append("## Feedback on your previous attempt\n" + task.feedback.strip())
    return "\n\n".join(parts)


def _prompt_bytes(messages: Sequence[Message]) -> int:
    size = 0
    for m in messages:
        text = m.content
        size += len(text) if text.isascii() else len(text.encode())
        for c in m.tool_calls:
            size += len(c.arguments)
    return size


def _record_provider_error(ctx: StepContext, exc: ProviderError, path: str, started: float) -> None:
    """Record a failed model call (the caller flushes, then raises)."""
    ctx.emit(
        EventKind.ERROR,
        path=path,
        started_at=started,
        payload={
            "error": type(exc).__name__,
            "code": exc.code,
            "message": str(exc),
            "status": exc.status,
            "attempts": exc.attempts,
        },
    )
    mark_recorded(exc)


def _bounded(response: ModelResponse) -> ModelResponse:
    """The response as stored: over-long text and arguments cut with a marker."""
    if not response.tool_calls and len(response.text) <= MAX_TEXT_CHARS:
        return response  # the usual answer: nothing to cut
    calls = tuple(
        c if len(c.arguments) <= MAX_TEXT_CHARS else replace(c, arguments=bound(c.arguments))
        for c in response.tool_calls
    )
    if len(response.text) <= MAX_TEXT_CHARS and calls == response.tool_calls:
        return response
    return replace(response, text=bound(response.text), tool_calls=calls)


async def _call_model(
    ctx: StepContext, model: Model, request: ModelRequest, turn: int, sent: int, size: int
) -> tuple[ModelResponse, bool]:
    """One recorded model call; also says whether the budget clamped its max_tokens."""
    path = f"{ctx.path}/model#{turn}"
    name = model.name  # a property on some models: read once
    replay = ctx.state.recorder.replay
    recorded = replay.model(path, name, request) if replay is not None else None
    # a recorded call was paid for already: its spend is counted, not reserved again
    reservation = _reserve(ctx, model, request, path) if recorded is None else None
    clamped = reservation is not None and reservation.max_tokens < request.max_tokens
    if clamped:
        assert reservation is not None
        request = replace(request, max_tokens=reservation.max_tokens)
    started = time.time()
    ctx.emit(
        EventKind.MODEL_REQUEST,
        path=path,
        payload={
            "model": name,
            "messages": [m.to_dict() for m in request.messages[sent:]],
            "history": sent,
            "prompt_bytes": size,
            "tools": [t.name for t in request.tools],
            "max_tokens": request.max_tokens,
            "request_hash": request_hash(name, request),
        },
    )
    ctx.state.recorder.write_soon()  # stored while the model works
    try:
        if recorded is not None:
            response = recorded
        else:
            try:
                response = _bounded(await model.request(request))
            except ProviderError as exc:  # recorded before it is raised
                _record_provider_error(ctx, exc, path, started)
                await ctx.state.recorder.flush()
                raise
    except BaseException:
        if reservation is not None:
            BudgetLedger.settle(reservation, None)
        raise
    if reservation is not None:
        BudgetLedger.settle(reservation, response.usage)
    elif recorded is not None and ctx.ledger is not None:
        ctx.ledger.count(response.usage)
    offline = model.offline
    ctx.emit(
        EventKind.MODEL_RESPONSE,
        path=path,
        started_at=started,
        usage=response.usage,
        payload={
            "model": response.model or name,
            "text": response.text,
            "tool_calls": [
                {"id": c.id, "name": c.name, "arguments": c.arguments} for c in response.tool_calls
            ],
            "finish_reason": response.finish_reason,
            "offline": offline,
        },
    )
    served = response.model
    answered_by = served if served == name or served in _members(model) else name
    ctx.state.add_usage(ctx.agent, answered_by, offline, response.usage)
    # on its way to the store now; durable before anything leaves the run (a tool
    # with side effects, an approval, the run's end flush first)
    recorder = ctx.state.recorder
    if not recorder.write_soon():
        await recorder.flush()
    return response, clamped


def _members(model: object) -> set[str]:
    """Names of the models a wrapper or fallback chain may answer with (each names itself).

    An adapter's response names what the server served instead (``gpt-4o-2024-08-06``,
    or Ollama's ``llama3.1:8b``): usage is then counted under the model called.
    """
    names: set[str] = set()
    chain = getattr(model, "models", None)
    for member in chain if isinstance(chain, tuple) else ():
        names.add(str(getattr(member, "name", "")))
        names |= _members(member)
    inner = getattr(model, "model", None)
    if inner is not None and not isinstance(inner, str):
        names.add(str(getattr(inner, "name", "")))
        names |= _members(inner)
    return names


def _reserve(
    ctx: StepContext, model: Model, request: ModelRequest, path: str
) -> Reservation | None:
    """Reserve the call's worst case against the budget, or stop the run."""
    if ctx.ledger is None:
        return None
    try:
        return ctx.ledger.reserve(request, price_of(model), model.name)
    except BudgetExhausted as exc:
        raise GuardStop(
            StopReason.BUDGET, f"{exc.detail} (budget of {exc.ledger})", path=path, agent=ctx.agent
        ) from None


def _final_text(
    response: ModelResponse, model: Model, ctx: StepContext, clamped: bool = False
) -> str:
    if response.finish_reason != "length" and response.text.strip():
        return bound(response.text)
    provider, _, name = model.name.partition(":")
    if response.finish_reason == "length" and clamped:
        raise GuardStop(
            StopReason.BUDGET,
            "the answer was cut at the output tokens the remaining budget allowed",
            path=ctx.path,
            agent=ctx.agent,
        )
    if response.finish_reason == "length":
        raise IncompleteResponse(
            f"agent {ctx.agent} (step {ctx.path}): the answer was cut at max_tokens; "
            "raise the agent's max_tokens or ask for a shorter answer",
            provider=provider,
            model=name,
        )
    if not response.text.strip():
        raise IncompleteResponse(
            f"agent {ctx.agent} (step {ctx.path}): the model returned an empty answer",
            provider=provider,
            model=name,
        )
    return bound(response.text)


class _ToolRepeats:
    """Counts identical tool calls by one agent in one task (a loop detector)."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.limit = ctx.state.loops.repeated_tool_calls if ctx.state.loops.enabled else 0
        self.seen: dict[tuple[str, str], list[str]] = {}

    def record(self, call: ToolCall, path: str) -> None:
        if self.limit <= 0:
            return
        try:
            args = json.dumps(json.loads(call.arguments or "{}"), sort_keys=True)
        except json.JSONDecodeError:
            args = call.arguments.strip()
        steps = self.seen.setdefault((call.name, args), [])
        steps.append(path)
        if len(steps) >= self.limit:
            self.ctx.emit(
                EventKind.LOOP_DETECTED,
                payload={
                    "detector": "repeated_tool_call",
                    "agents": [self.ctx.agent],
                    "tool": call.name,
                    "arguments": bound(args, 2_000),
                    "steps": steps,
                },
            )
            raise GuardStop(
                StopReason.LOOP,
                f"agent {self.ctx.agent} called {call.name} with the same arguments "
                f"{len(steps)} times (steps {', '.join(steps)})",
                path=path,
                agent=self.ctx.agent,
            )


@dataclass(frozen=True, slots=True)
class _Setup:
    """What `run_loop` derives from an agent and its options before the first call."""

    name: str
    role: str
    instructions: str
    agent_tools: Sequence[Tool]
    system: Message
    tools: dict[str, Tool]
    specs: tuple[Any, ...]
    schema: dict[str, Any] | None
    output_name: str | None

    def fits(self, agent: AgentLike) -> bool:
        """True while the agent still has the fields this was derived from."""
        return (
            self.name is agent.name
            and self.role is agent.role
            and self.instructions is agent.instructions
            and self.agent_tools is agent.tools
        )


#: Setups kept per agent (options differ per pattern); more are derived, not kept.
_SETUPS_PER_AGENT = 16


def _setup(agent: AgentLike, options: LoopOptions) -> _Setup:
    """The agent's tools, schema and system message, derived once per agent and options.

    Kept on the agent when it has a ``_setups`` dict (`podium.Agent` does); an
    agent whose name, role, instructions or tools are replaced derives them again.
    """
    cache: dict[Any, _Setup] | None = getattr(agent, "_setups", None)
    key = (options.output_type, options.extra_system, options.extra_tools)
    if cache is not None:
        setup = cache.get(key)
        if setup is not None and setup.fits(agent):
            return setup
    all_tools = (*agent.tools, *options.extra_tools)
    structured = isinstance(options.output_type, type) and issubclass(
        options.output_type, BaseModel
    )
    setup = _Setup(
        name=agent.name,
        role=agent.role,
        instructions=agent.instructions,
        agent_tools=agent.tools,
        system=Message.system(system_prompt(agent, options)),
        tools={t.name: t for t in all_tools},
        specs=tuple(t.spec for t in all_tools),
        schema=schema_of(options.output_type) if structured else None,
        output_name=options.output_type.__name__ if structured else None,
    )
    if cache is not None and (key in cache or len(cache) < _SETUPS_PER_AGENT):
        cache[key] = setup
    return setup


async def run_loop(
    agent: AgentLike, task: Task, ctx: StepContext, options: LoopOptions | None = None
) -> Any:
    """Drive `agent` on `task` until it answers; returns its (validated) output."""
    options = options or LoopOptions()
    model = agent.resolved_model()
    setup = _setup(agent, options)
    tools, specs, schema = setup.tools, setup.specs, setup.schema
    structured = schema is not None
    messages = [setup.system, Message.user(render_task(task))]
    max_turns = agent.max_turns
    if ctx.state.limits.max_turns is not None:
        max_turns = min(max_turns, ctx.state.limits.max_turns)
    repeats: _ToolRepeats | None = None  # made at the first tool call
    sent = tool_index = malformed_streak = size = 0
    repaired = False
    for turn in range(max_turns):
        request = make_request(
            tuple(messages),
            specs,
            agent.max_tokens,
            agent.temperature,
            schema,
            setup.output_name,
        )
        size += _prompt_bytes(messages[sent:])
        response, clamped = await _call_model(ctx, model, request, turn, sent, size)
        sent = len(messages)
        if response.tool_calls:
            messages.append(Message.assistant(bound(response.text), response.tool_calls))
            for call in response.tool_calls:
                if repeats is None:
                    repeats = _ToolRepeats(ctx)
                repeats.record(call, f"{ctx.path}/tool[{call.name}]#{tool_index}")
                try:
                    outcome = await execute_tool(ctx, call, tools, tool_index)
                except HandoffRequested as handoff:
                    return handoff.transfer
                tool_index += 1
                malformed_streak = malformed_streak + 1 if outcome.malformed else 0
                messages.append(Message.tool(call, outcome.text))
            if malformed_streak >= agent.max_malformed_tool_calls:
                raise ToolError(
                    f"agent {ctx.agent} (step {ctx.path}) made {malformed_streak} malformed or "
                    "disallowed tool calls in a row; the last error was: "
                    f"{messages[-1].content}"
                )
            continue
        text = _final_text(response, model, ctx, clamped)
        if not structured:
            return text
        try:
            return parse_output(text, options.output_type, options.check)
        except ValueError as exc:
            if repaired:
                raise OutputValidationError(
                    f"agent {ctx.agent} (step {ctx.path}): output still invalid after one "
                    f"repair round: {exc}"
                ) from None
            repaired = True
            messages.append(Message.assistant(text))
            messages.append(
                Message.user(
                    f"Your answer was rejected: {exc}\nAnswer again with "
                    "only the corrected JSON object."
                )
            )
    raise GuardStop(
        StopReason.MAX_TURNS,
        f"no final answer after {max_turns} turns",
        path=ctx.path,
        agent=ctx.agent,
    )
