"""What every team does around its own scheduling: events, budget share, depth, loops."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from podium._engine._context import StepContext, Task, as_text, bound
from podium._engine._signals import GuardStop
from podium.events import EventKind
from podium.guards._budget import Budget
from podium.result import StopReason

__all__ = ["TeamLike", "run_team"]


class TeamLike(Protocol):
    """What `run_team` needs from a team."""

    name: str
    role: str
    budget: Budget | None


async def run_team(
    team: TeamLike,
    task: Task,
    ctx: StepContext,
    pattern: str,
    body: Callable[[Task, StepContext], Awaitable[Any]],
) -> Any:
    """Run `body` as `team`'s step.

    Records the team's start and end, applies its own budget share, enforces the
    nesting limit, and — for a nested team — turns a loop stop inside it into an
    output for its parent, so only the looping sub-team stops.
    """
    ctx = ctx.as_agent(team.name).scoped(team, team.budget)
    started = time.time()
    ctx.emit(
        EventKind.AGENT_START,
        payload={"task": bound(task.text, 4_000), "role": team.role, "team": pattern},
    )
    status = "error"
    output: Any = None
    try:
        ctx.check_depth()
        output = await body(task, ctx)
        status = "ok"
        return output
    except GuardStop as stop:
        status = "stopped"
        # any loop inside a nested team (its own detectors, or a member's repeated
        # tool calls) stops only that team: the innermost one catches it first
        if stop.reason is StopReason.LOOP and ctx.depth > 0:
            status = "loop"
            output = f"[{team.name} stopped by a loop detector: {stop.detail}]"
            ctx.emit(
                EventKind.NOTICE,
                payload={"code": "loop_contained", "detail": stop.detail, "step": stop.path},
            )
            return output
        raise
    except asyncio.CancelledError:
        status = "cancelled"
        raise
    finally:
        ctx.emit(
            EventKind.AGENT_END,
            started_at=started,
            payload={
                "status": status,
                "output": bound(as_text(output) if output is not None else "", 4_000),
            },
        )
