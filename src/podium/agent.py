"""`Agent`: a model with a role, instructions and tools, running its own loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field, replace
from typing import Any

from pydantic import BaseModel

from podium._engine._context import StepContext, Task, as_text, bound
from podium._engine._loop import LoopOptions, run_loop
from podium._engine._runnable import RunMixin
from podium._engine._signals import GuardStop, Transfer, mark_recorded
from podium.errors import ConfigError
from podium.events import EventKind
from podium.guards._budget import Budget
from podium.models._base import Model
from podium.models._resolve import default_model_name, resolve_model
from podium.tools._tool import Tool

__all__ = ["Agent"]


@dataclass(eq=False)
class Agent(RunMixin):
    """A specialized agent.

    Args:
        name: unique within a team; how planners and logs refer to it.
        role: the capability card the planner sees ("finds sources").
        instructions: the agent's standing instructions (system prompt).
        model: ``provider:name``, a `Model`, or None for the default
            (``PODIUM_MODEL``, a configured provider key, else the offline
            scripted model).
        tools: the only tools this agent may call.
        output_type: ``str`` or a pydantic model the answer must validate as
            (one repair round, then `OutputValidationError`).
        max_turns: model calls allowed for one task before it stops with
            ``max_turns``.
        max_tokens: output token cap per call.
        temperature: sampling temperature (provider default when None).
        max_malformed_tool_calls: consecutive bad tool calls before the step fails.
        reads: blackboard keys whose latest entries go into this agent's prompt.
        writes: blackboard keys this agent may write. With one key, the agent's
            final output is written there; with several, `output_type` must be
            a pydantic model with a field per key.
        reads_verified_only: only entries marked verified reach the prompt
            (also of the results a pattern passes on: an orchestrator's
            subtask results, a pipeline's previous output).
        handoffs: names of agents this agent may hand control to (in a
            `Handoffs` team; exposed to the model as ``transfer_to_NAME`` tools).
        handoff_input: the payload schema an agent handing off *to this agent*
            must fill in; an incomplete payload is rejected and the sender told
            what is missing.
        budget: this agent's own share of the run's budget.
    """

    name: str
    _: KW_ONLY
    role: str = ""
    instructions: str = ""
    model: str | Model | None = None
    tools: Sequence[Tool] = ()
    output_type: type[Any] = str
    max_turns: int = 10
    max_tokens: int = 1024
    temperature: float | None = None
    max_malformed_tool_calls: int = 3
    reads: Sequence[str] = ()
    writes: Sequence[str] = ()
    reads_verified_only: bool = False
    handoffs: Sequence[str] = ()
    handoff_input: type[BaseModel] | None = None
    budget: Budget | None = None
    _resolved: Model | None = field(default=None, init=False, repr=False)
    _options: LoopOptions | None = field(default=None, init=False, repr=False, compare=False)
    _setups: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        bare = self.name.replace("_", "").replace("-", "")
        if not bare or not (bare.isascii() and bare.isalnum()):  # names tools: providers' rule
            raise ConfigError(
                f"agent name {self.name!r} must be non-empty ASCII letters, digits, '-' or '_'"
            )
        if self.max_turns < 1:
            raise ConfigError(f"agent {self.name}: max_turns must be at least 1")
        if self.max_tokens < 1:  # no call could answer anything
            raise ConfigError(f"agent {self.name}: max_tokens must be at least 1")
        self.tools = tuple(self.tools)
        seen: set[str] = set()
        for t in self.tools:
            if not isinstance(t, Tool):
                raise ConfigError(
                    f"agent {self.name}: {t!r} is not a tool; decorate it with @podium.tool"
                )
            if t.name in seen:
                raise ConfigError(f"agent {self.name}: two tools are named {t.name!r}")
            seen.add(t.name)
        self.reads, self.writes, self.handoffs = (
            tuple(self.reads),
            tuple(self.writes),
            tuple(self.handoffs),
        )
        if len(self.writes) > 1:
            fields = getattr(self.output_type, "model_fields", {})
            missing = [k for k in self.writes if k not in fields]
            if missing:
                raise ConfigError(
                    f"agent {self.name} declares several writes {list(self.writes)}; its "
                    f"output_type must be a pydantic model with fields {missing}"
                )

    def resolved_model(self) -> Model:
        """The model this agent calls (resolved once)."""
        if self._resolved is None:
            self._resolved = resolve_model(self.model or default_model_name())
        return self._resolved

    async def invoke(self, task: Task, ctx: StepContext, options: LoopOptions | None = None) -> Any:
        """Do `task` at step `ctx`: the agent's loop, bracketed by start/end events."""
        ctx = ctx if ctx.agent == self.name else ctx.as_agent(self.name)
        ctx = ctx.scoped(self, self.budget)
        if options is None:
            options = self._options
            if options is None or options.output_type is not self.output_type:
                options = self._options = LoopOptions(output_type=self.output_type)
        started = time.time()
        ctx.emit(
            EventKind.AGENT_START, payload={"task": bound(task.text, 4_000), "role": self.role}
        )
        status = "ok"
        output: Any = None
        try:
            memory = (
                ctx.state.blackboard.select(self.reads, verified_only=self.reads_verified_only)
                if self.reads
                else ()
            )
            if memory:
                task = replace(task, memory=(*task.memory, *memory))
            output = await run_loop(self, task, ctx, options)
            if isinstance(output, Transfer):
                status = "handoff"
            elif self.writes:
                self._write_outputs(ctx, output, {e.key: e.version for e in memory})
            return output
        except GuardStop:
            status = "stopped"
            raise
        except asyncio.CancelledError:  # e.g. a sibling subtask failed
            status = "cancelled"
            raise
        except Exception as exc:
            status = "error"
            if not mark_recorded(exc):
                ctx.emit(
                    EventKind.ERROR,
                    payload={
                        "error": type(exc).__name__,
                        "code": getattr(exc, "code", "exception"),
                        "message": bound(str(exc), 4_000),
                    },
                )
            raise
        finally:
            ctx.state.add_wall_time(self.name, time.time() - started)
            text = as_text(output) if output is not None else ""
            ctx.emit(
                EventKind.AGENT_END,
                started_at=started,
                payload={"status": status, "output": bound(text, 4_000)},
            )

    def _write_outputs(self, ctx: StepContext, output: Any, seen: dict[str, int]) -> None:
        """Write the final output to the declared keys; read keys are its sources."""
        if len(self.writes) == 1:
            values = {self.writes[0]: output}
        else:
            values = {key: getattr(output, key) for key in self.writes}
        for key, value in values.items():
            ctx.write(
                key,
                value,
                allowed=self.writes,
                sources=[k for k in seen if k != key],
                expected_version=seen.get(key),
            )
