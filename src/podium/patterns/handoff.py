"""Handoffs: an agent transfers control to another by name, through a tool."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from podium._engine._context import StepContext, Task
from podium._engine._loop import LoopOptions
from podium._engine._runnable import RunMixin
from podium._engine._signals import GuardStop, HandoffRequested, Transfer
from podium._engine._team import run_team
from podium.agent import Agent
from podium.errors import ConfigError, HandoffError
from podium.events import EventKind
from podium.guards._budget import Budget
from podium.guards._loops import handoff_cycle
from podium.registry import suggest
from podium.result import StopReason
from podium.tools._tool import Tool

__all__ = ["Handoffs", "handoff_tool"]


def handoff_tool(target: Agent) -> Tool:
    """The ``transfer_to_NAME`` tool that hands control to `target`.

    Its arguments are a `reason` and, when the target declares `handoff_input`,
    a `payload` that must validate against that schema.
    """
    fields: dict[str, Any] = {
        "reason": (str, Field(description="why you hand the conversation over")),
    }
    if target.handoff_input is not None:
        fields["payload"] = (
            target.handoff_input,
            Field(description=f"what {target.name} needs to take over"),
        )
    args_model = create_model(
        f"transfer_to_{target.name}_args", __config__=ConfigDict(extra="forbid"), **fields
    )

    async def transfer(reason: str, payload: BaseModel | None = None) -> None:
        raise HandoffRequested(
            Transfer(sender="", target=target.name, reason=reason, payload=payload)
        )

    return Tool(
        name=f"transfer_to_{target.name}",
        description=f"Hand the task over to {target.name} ({target.role or 'agent'}).",
        fn=transfer,
        args_model=args_model,
        is_async=True,
    )


@dataclass(eq=False)
class Handoffs(RunMixin):
    """Agents that pass control to each other; one holds it at a time.

    Each agent may hand off only to the agents named in its `handoffs` (the
    runtime enforces it). The agent that answers without handing off ends the
    team's turn; its answer is the output.

    Args:
        agents: the agents; the first one starts unless `entry` says otherwise.
        entry: the agent that gets the task first.
        max_handoffs: transfers allowed before the run stops with ``loop``.
        name: the team's name (its registry card when it is a worker).
        role: its capability card.
        budget: this team's own share of the run's budget (caps what the team
            may spend; whatever it does not spend stays with its parent).
    """

    agents: Sequence[Agent]
    _: KW_ONLY
    entry: str | None = None
    max_handoffs: int = 10
    name: str = "handoffs"
    role: str = ""
    budget: Budget | None = None
    _by_name: dict[str, Agent] = field(init=False, repr=False)
    _tools: dict[str, tuple[Tool, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_handoffs < 0:
            raise ConfigError(f"handoffs {self.name}: max_handoffs must not be negative")
        self._by_name = {}
        for agent in self.agents:
            if agent.name in self._by_name:
                raise ConfigError(f"handoffs {self.name}: two agents are named {agent.name!r}")
            self._by_name[agent.name] = agent
        if not self._by_name:
            raise ConfigError(f"handoffs {self.name}: needs at least one agent")
        names = list(self._by_name)
        self.entry = self.entry or names[0]
        if self.entry not in self._by_name:
            raise ConfigError(
                f"handoffs {self.name}: entry {self.entry!r} is not an agent"
                f"{suggest(self.entry, names)}"
            )
        self._tools = {}
        for agent in self.agents:
            for target in agent.handoffs:
                if target == agent.name:  # a transfer to itself changes nothing: a loop
                    raise ConfigError(f"handoffs {self.name}: {agent.name} hands off to itself")
                if target not in self._by_name:
                    raise ConfigError(
                        f"handoffs {self.name}: {agent.name} may hand off to {target!r}, "
                        f"which is not in the team{suggest(target, names)}"
                    )
            self._tools[agent.name] = tuple(handoff_tool(self._by_name[t]) for t in agent.handoffs)
            own = {t.name for t in agent.tools}
            for handoff in self._tools[agent.name]:
                if handoff.name in own:  # the model would see two tools of one name
                    raise ConfigError(
                        f"handoffs {self.name}: {agent.name} has a tool named "
                        f"{handoff.name!r}, the name of its handoff tool; rename the tool"
                    )

    async def invoke(self, task: Task, ctx: StepContext) -> Any:
        """Give the task to the entry agent and follow transfers until one answers."""
        return await run_team(self, task, ctx, "handoffs", self._follow)

    async def _follow(self, task: Task, ctx: StepContext) -> Any:
        assert self.entry is not None
        current, turn_task = self._by_name[self.entry], task
        board = ctx.state.blackboard
        since_write: list[str] = []
        for hop in range(self.max_handoffs + 1):
            hop_ctx = ctx.child(f"hop[{hop}]", agent=current.name, nest=True)
            writes_before = board.writes
            result = await current.invoke(
                turn_task,
                hop_ctx,
                LoopOptions(output_type=current.output_type, extra_tools=self._tools[current.name]),
            )
            if not isinstance(result, Transfer):
                return result
            if board.writes != writes_before:
                since_write = []
            since_write.append(current.name)
            current, turn_task = self._transfer(result, current, task, hop_ctx)
            self._check_cycle([*since_write, current.name], hop_ctx)
        raise GuardStop(
            StopReason.LOOP,
            f"more than {self.max_handoffs} handoffs without an answer",
            path=ctx.path,
            agent=self.name,
        )

    def _check_cycle(self, hops: list[str], ctx: StepContext) -> None:
        policy = ctx.state.loops
        if not policy.enabled:
            return
        cycle = handoff_cycle(hops, policy.handoff_cycles)
        if cycle is None:
            return
        ctx.emit(
            EventKind.LOOP_DETECTED,
            payload={"detector": "handoff_cycle", "agents": cycle, "hops": hops},
        )
        raise GuardStop(
            StopReason.LOOP,
            f"handoffs went round {' -> '.join([*cycle, cycle[0]])} "
            f"{policy.handoff_cycles} times with no new blackboard write",
            path=ctx.path,
            agent=self.name,
        )

    def _transfer(
        self, transfer: Transfer, sender: Agent, task: Task, ctx: StepContext
    ) -> tuple[Agent, Task]:
        if transfer.target not in sender.handoffs:  # its tools only offer allowed targets
            ctx.emit(
                EventKind.SECURITY,
                payload={
                    "reason": "handoff_not_allowed",
                    "from": sender.name,
                    "to": transfer.target,
                },
            )
            raise HandoffError(
                f"{sender.name} may not hand off to {transfer.target} "
                f"(allowed: {', '.join(sender.handoffs) or 'none'})"
            )
        payload = (
            transfer.payload.model_dump(mode="json")
            if isinstance(transfer.payload, BaseModel)
            else transfer.payload
        )
        ctx.emit(
            EventKind.HANDOFF,
            payload={
                "from": sender.name,
                "to": transfer.target,
                "reason": transfer.reason,
                "payload": payload,
                "step": transfer.step,
            },
        )
        note = f"{sender.name} handed this over to you: {transfer.reason}"
        if payload is not None:
            note += "\nPayload: " + json.dumps(payload, ensure_ascii=False)
        return self._by_name[transfer.target], Task(
            text=task.text,
            inputs=task.inputs,
            memory=task.memory,
            context=(*task.context, (f"handoff from {sender.name}", note)),
        )
