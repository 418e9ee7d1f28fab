"""Pipeline: fixed, ordered stages; each reads what earlier stages wrote."""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field, replace
from typing import Any

from podium._engine._context import StepContext, Task, as_text, bound
from podium._engine._gates import gate
from podium._engine._runnable import RunMixin
from podium._engine._runner import Runnable
from podium._engine._signals import GuardStop
from podium._engine._team import run_team
from podium.errors import ConfigError
from podium.events import EventKind
from podium.guards._budget import Budget
from podium.result import StopReason

__all__ = ["Pipeline", "Stage", "StageCheck"]

#: Looks at a stage's output; returns None when it is fine, else feedback that
#: sends the work back to the stage (once).
StageCheck = Callable[[Any], str | Awaitable[str | None] | None]


@dataclass(frozen=True, slots=True)
class Stage:
    """A pipeline stage: an agent or team, with an optional output check.

    Args:
        runnable: the agent or team doing the stage.
        check: called with the stage's output; a returned string is feedback
            and the stage runs once more with it. If the second output fails
            the check too, the run stops with ``verification_failed``.
        name: the stage's name in step paths (the runnable's name by default).
        approval: a human must approve before the stage starts (the run pauses
            with ``waiting_approval``; a rejection stops it with ``rejected``).
        approval_timeout: seconds to decide before the gate denies.
    """

    runnable: Runnable
    _: KW_ONLY
    check: StageCheck | None = None
    name: str = ""
    approval: bool = False
    approval_timeout: float | None = None

    @property
    def label(self) -> str:
        """The name used in step paths."""
        return self.name or self.runnable.name


async def _run_check(check: StageCheck, output: Any) -> str | None:
    verdict = check(output)
    if inspect.isawaitable(verdict):
        verdict = await verdict
    return verdict or None


@dataclass(eq=False)
class Pipeline(RunMixin):
    """Stages run one after another.

    A stage sees the task plus the blackboard entries its agents declare in
    `reads` — not the transcripts of earlier stages. A stage whose runnable
    declares no `reads` at all gets the previous stage's output instead, so a
    plain chain of agents works without declarations (not one with
    `reads_verified_only`: that output is unchecked).

    Args:
        stages: agents, teams or `Stage`s, in order.
        name: the pipeline's name (its registry card when it is a worker).
        role: its capability card.
        budget: this team's own share of the run's budget (caps what the team
            may spend; whatever it does not spend stays with its parent).
    """

    stages: Sequence[Runnable | Stage]
    _: KW_ONLY
    name: str = "pipeline"
    role: str = ""
    budget: Budget | None = None
    _stages: tuple[Stage, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._stages = tuple(s if isinstance(s, Stage) else Stage(s) for s in self.stages)
        if not self._stages:
            raise ConfigError(f"pipeline {self.name}: needs at least one stage")
        labels = [s.label for s in self._stages]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise ConfigError(f"pipeline {self.name}: stage names must be unique, not {dupes}")

    async def invoke(self, task: Task, ctx: StepContext) -> Any:
        """Run every stage in order; the last stage's output is the pipeline's."""
        return await run_team(self, task, ctx, "pipeline", self._work)

    async def _work(self, task: Task, ctx: StepContext) -> Any:
        previous: Any = None
        for index, stage in enumerate(self._stages):
            stage_task = task
            runnable = stage.runnable
            if (  # a stage that takes verified input only gets it from the blackboard
                previous is not None
                and not getattr(runnable, "reads", ())
                and not getattr(runnable, "reads_verified_only", False)
            ):
                label = f"output of {self._stages[index - 1].label}"
                stage_task = replace(task, context=(*task.context, (label, as_text(previous))))
            previous = await self._run_stage(stage, index, stage_task, ctx)
        return previous

    async def _gate(self, stage: Stage, task: Task, ctx: StepContext) -> None:
        gate_ctx = ctx.child(f"gate[{stage.label}]", agent=self.name)
        so_far = task.context[-1][1] if task.context else task.text
        decision = await gate(
            gate_ctx,
            path=gate_ctx.path,
            kind="stage",
            name=stage.label,
            arguments=bound(so_far, 4_000),
            reason=f"stage {stage.label} needs approval",
            expires_after=stage.approval_timeout,
        )
        if not decision.approved:
            raise GuardStop(
                StopReason.REJECTED,
                f"stage {stage.label} was rejected by {decision.decided_by}: "
                f"{decision.comment or 'no reason given'}",
                path=gate_ctx.path,
                agent=self.name,
            )

    async def _run_stage(self, stage: Stage, index: int, task: Task, ctx: StepContext) -> Any:
        if stage.approval:
            await self._gate(stage, task, ctx)
        feedback = ""
        for attempt in range(2):
            segment = f"stage[{stage.label}]" + (f"#{attempt}" if attempt else "")
            stage_ctx = ctx.child(segment, agent=stage.runnable.name, nest=True)
            started = time.time()
            stage_ctx.emit(
                EventKind.STAGE_START,
                payload={"stage": stage.label, "index": index, "attempt": attempt},
            )
            attempt_task = replace(task, feedback=feedback) if feedback else task
            output = await stage.runnable.invoke(attempt_task, stage_ctx)
            verdict = await _run_check(stage.check, output) if stage.check else None
            stage_ctx.emit(
                EventKind.STAGE_END,
                started_at=started,
                payload={
                    "stage": stage.label,
                    "index": index,
                    "attempt": attempt,
                    "check": "failed" if verdict else ("passed" if stage.check else "none"),
                    "feedback": verdict,
                    "output": bound(as_text(output)),
                },
            )
            if verdict is None:
                return output
            feedback = verdict
        raise GuardStop(
            StopReason.VERIFICATION_FAILED,
            f"stage {stage.label} failed its check twice; last feedback: {feedback}",
            path=stage_ctx.path,
            agent=stage.runnable.name,
        )
