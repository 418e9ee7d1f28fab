"""Orchestrator–worker: a planner splits the goal, workers run the DAG, one aggregates."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from podium._engine._context import StepContext, Task, as_text, bound, make_task
from podium._engine._join import run_all as _run_all
from podium._engine._loop import LoopOptions
from podium._engine._runnable import RunMixin
from podium._engine._runner import Runnable
from podium._engine._signals import GuardStop, mark_recorded
from podium._engine._team import run_team
from podium.agent import Agent
from podium.errors import (
    ConfigError,
    IncompleteResponse,
    OutputValidationError,
    PlanError,
    PodiumError,
    ProviderError,
)
from podium.events import EventKind
from podium.guards._budget import Budget
from podium.memory._blackboard import EntryStatus
from podium.patterns._plan import Plan, Subtask, plan_payload, plan_problems
from podium.patterns._review import Reviewer, review
from podium.registry import Registry
from podium.result import StopReason

__all__ = ["Orchestrator"]

_PLANNER_GUIDE = (
    "You plan work for a team. Split the goal into subtasks, each assigned to exactly one "
    "worker from the list by its name. Give each subtask a short id (t1, t2, ...), "
    "self-contained instructions, and the ids it depends on. Subtasks without dependencies "
    "run in parallel, so only add a dependency when a subtask needs another's result."
)
_AGGREGATOR_GUIDE = (
    "You write the team's final answer to the goal from the subtask results you are given. "
    "Use only those results; say so when they are insufficient."
)


@dataclass(eq=False)
class Orchestrator(RunMixin):
    """A planner assigns subtasks to workers by name; independent ones run in parallel.

    Args:
        planner: the agent that writes the plan (and the final answer, unless an
            `aggregator` is given).
        workers: agents or teams the planner may assign work to.
        aggregator: writes the final answer from the subtask results.
        name: the team's name (its registry card when it is itself a worker).
        role: the team's capability card.
        max_concurrency: subtasks running at once, at most.
        max_subtasks: most subtasks one plan may have (default: the run's
            ``Limits.max_fanout``); a bigger plan stops the run with ``max_fanout``.
        reviewer: checks each subtask result (a function or an agent); a refuted
            result is retried with the reason as feedback.
        max_review_retries: retries of a refuted subtask before the run stops
            with ``verification_failed``.
        output_type: ``str`` or a pydantic model for the final answer.
        budget: this team's own share of the run's budget (caps what the team
            may spend; whatever it does not spend stays with its parent).
    """

    _: KW_ONLY
    planner: Agent
    workers: Sequence[Runnable]
    aggregator: Agent | None = None
    name: str = "team"
    role: str = ""
    max_concurrency: int = 8
    max_subtasks: int | None = None
    reviewer: Reviewer | None = None
    max_review_retries: int = 2
    output_type: type[Any] = str
    budget: Budget | None = None
    registry: Registry = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.registry = Registry(self.workers)
        if not len(self.registry):
            raise ConfigError(f"team {self.name}: an orchestrator needs at least one worker")
        if self.max_concurrency < 1:
            raise ConfigError(f"team {self.name}: max_concurrency must be at least 1")

    async def invoke(self, task: Task, ctx: StepContext) -> Any:
        """Plan, run the subtasks, aggregate."""
        return await run_team(self, task, ctx, "orchestrator", self._work)

    async def _work(self, task: Task, ctx: StepContext) -> Any:
        plans: list[Plan] = []
        feedback = ""
        base = ctx
        # results go to `task.<id>`; a nested team's under its own step path, so they
        # neither overwrite nor pass for an enclosing orchestrator's subtask results
        keys = f"{ctx.path.removeprefix('root/')}/task." if ctx.depth else "task."
        while True:
            plan = await self._plan(task, base, feedback)
            self._check_plan(plan, plans, base)
            plans.append(plan)
            try:
                results = await self._execute(plan, task, base, keys)
                return await self._aggregate(task, plan, results, base, keys)
            except Exception as exc:
                if not _replannable(exc):
                    raise
                replans = len(plans) - 1
                if replans >= ctx.state.limits.max_replans:
                    if replans == 0:
                        raise
                    raise GuardStop(
                        StopReason.MAX_REPLANS,
                        f"team {self.name}: still failing after {replans} re-plan(s): {exc}",
                        path=base.path,
                        agent=self.name,
                    ) from exc
                feedback = f"The previous plan failed: {exc}"
                base = ctx.child(f"replan[{replans + 1}]", agent=self.name)
                base.emit(
                    EventKind.NOTICE,
                    payload={
                        "code": "replan",
                        "attempt": replans + 1,
                        "reason": bound(str(exc), 2_000),
                    },
                )

    def _check_plan(self, plan: Plan, earlier: list[Plan], ctx: StepContext) -> None:
        limit = self.max_subtasks or ctx.state.limits.max_fanout
        if len(plan.subtasks) > limit:
            raise GuardStop(
                StopReason.MAX_FANOUT,
                f"team {self.name}: the plan has {len(plan.subtasks)} subtasks; the limit "
                f"is {limit}",
                path=f"{ctx.path}/plan",
                agent=self.name,
            )
        loops = ctx.state.loops
        if not loops.enabled or loops.replan_repeats < 1:  # 0 turns the detector off
            return
        same = [p for p in earlier if p.model_dump() == plan.model_dump()]
        if len(same) >= loops.replan_repeats:
            ctx.emit(
                EventKind.LOOP_DETECTED,
                payload={
                    "detector": "same_plan",
                    "agents": [self.planner.name],
                    "steps": [f"{ctx.path}/plan"],
                },
            )
            raise GuardStop(
                StopReason.LOOP,
                f"team {self.name}: the planner re-planned the same plan",
                path=f"{ctx.path}/plan",
                agent=self.name,
            )

    async def _plan(self, task: Task, ctx: StepContext, feedback: str = "") -> Plan:
        workers = self.registry.names

        def check(plan: Plan) -> None:
            problems = plan_problems(plan, workers, max_subtasks=10_000)
            if problems:
                raise ValueError("the plan is invalid: " + "; ".join(problems))

        prompt = make_task(
            f"Plan the work for this goal.\n\n## Goal\n{task.text}\n\n"
            f"## Workers\n{self.registry.cards()}",
            task.inputs,
            feedback=feedback,
        )
        plan_ctx = ctx.child("plan", agent=self.planner.name)
        options = LoopOptions(output_type=Plan, check=check, extra_system=_PLANNER_GUIDE)
        try:
            plan: Plan = await self.planner.invoke(prompt, plan_ctx, options)
        except OutputValidationError as exc:
            error = PlanError(
                f"team {self.name}: the planner {self.planner.name} gave no valid "
                f"plan after one correction round: {exc}"
            )
            mark_recorded(error)
            raise error from None
        ctx.emit(EventKind.PLAN, path=plan_ctx.path, payload={"plan": plan_payload(plan)})
        return plan

    async def _execute(self, plan: Plan, task: Task, ctx: StepContext, keys: str) -> dict[str, Any]:
        limit = min(self.max_concurrency, ctx.state.max_concurrency)
        # a limit the plan cannot reach needs no semaphore
        semaphore = asyncio.Semaphore(limit) if len(plan.subtasks) > limit else None
        # only subtasks others wait for get an event to signal their end
        done = {d: asyncio.Event() for s in plan.subtasks for d in s.depends_on}
        results: dict[str, Any] = {}
        by_id = {s.id: s for s in plan.subtasks}

        async def run_one(sub: Subtask) -> None:
            for dep in sub.depends_on:
                await done[dep].wait()
            deps: Sequence[str] = sub.depends_on
            if deps and getattr(self.registry.get(sub.assignee), "reads_verified_only", False):
                deps = _verified(deps, ctx, keys)
            context = tuple((f"{d} ({by_id[d].assignee})", as_text(results[d])) for d in deps)
            if semaphore is None:
                results[sub.id] = await self._run_subtask(sub, task, context, ctx, keys)
            else:
                async with semaphore:
                    results[sub.id] = await self._run_subtask(sub, task, context, ctx, keys)
            waited = done.get(sub.id)
            if waited is not None:
                waited.set()

        await _run_all([run_one(s) for s in plan.subtasks])
        pending = [s.id for s in plan.subtasks if s.id not in results]
        if pending:  # never aggregate while a dispatched subtask has no result
            raise RuntimeError(f"team {self.name}: subtasks {pending} did not finish")
        return results

    async def _run_subtask(
        self,
        sub: Subtask,
        task: Task,
        context: tuple[tuple[str, str], ...],
        ctx: StepContext,
        keys: str,
    ) -> Any:
        """One subtask: the worker, its result on the blackboard, review and retries."""
        worker = self.registry.get(sub.assignee)
        key = keys + sub.id
        feedback = ""
        for attempt in range(self.max_review_retries + 1):
            segment = f"task[{sub.id}]" + (f"#{attempt}" if attempt else "")
            sub_ctx = ctx.child(segment, agent=worker.name, nest=True)
            started = time.time()
            sub_ctx.emit(
                EventKind.SUBTASK_START,
                payload={
                    "id": sub.id,
                    "assignee": sub.assignee,
                    "depends_on": sub.depends_on,
                    "attempt": attempt,
                    "instructions": bound(sub.instructions, 4_000),
                },
            )
            output = await worker.invoke(
                make_task(sub.instructions, task.inputs, context, feedback=feedback),
                sub_ctx,
            )
            sub_ctx.write(key, output, allowed=None, sources=[keys + d for d in sub.depends_on])
            verdict = None
            if self.reviewer is not None:
                verdict = await review(self.reviewer, sub, output, key, sub_ctx, attempt)
            sub_ctx.emit(
                EventKind.SUBTASK_END,
                started_at=started,
                payload={
                    "id": sub.id,
                    "assignee": sub.assignee,
                    "attempt": attempt,
                    "output": bound(as_text(output)),
                    "verdict": verdict.model_dump() if verdict else None,
                },
            )
            if verdict is None or verdict.passed:
                return output
            feedback = f"A reviewer refuted your previous result: {verdict.reason}"
        lineage = [
            {"key": e.key, "author": e.author, "step": e.step, "status": str(e.status)}
            for e in ctx.state.blackboard.lineage(key)
        ]
        raise GuardStop(
            StopReason.VERIFICATION_FAILED,
            f"worker {worker.name}'s result for subtask {sub.id} was refuted "
            f"{self.max_review_retries + 1} times (last at step {sub_ctx.path}): "
            f"{verdict.reason if verdict else ''}",
            path=sub_ctx.path,
            agent=worker.name,
            data={"key": key, "lineage": lineage},
        )

    async def _aggregate(
        self, task: Task, plan: Plan, results: dict[str, Any], ctx: StepContext, keys: str
    ) -> Any:
        agent = self.aggregator or self.planner
        subtasks = plan.subtasks
        if getattr(agent, "reads_verified_only", False):
            verified = set(_verified([s.id for s in subtasks], ctx, keys))
            subtasks = [s for s in subtasks if s.id in verified]
        context = tuple(
            (f"{s.id} ({s.assignee}): {bound(s.instructions, 200)}", as_text(results[s.id]))
            for s in subtasks
        )
        return await agent.invoke(
            make_task(task.text, task.inputs, context),
            ctx.child("aggregate", agent=agent.name),
            LoopOptions(output_type=self.output_type, extra_system=_AGGREGATOR_GUIDE),
        )


def _verified(ids: Sequence[str], ctx: StepContext, keys: str) -> list[str]:
    """The subtasks among `ids` whose result (``keys`` + id) a reviewer verified."""
    board = ctx.state.blackboard
    return [
        i
        for i in ids
        if (entry := board.get(keys + i)) is not None and entry.status is EntryStatus.VERIFIED
    ]


def _replannable(exc: BaseException) -> bool:
    """Failures a new plan may route around (not provider outages, setup errors or stops).

    A setup error (say, a worker's missing API key) is the user's to fix: re-planning
    would hide it behind a loop or max_replans stop.
    """
    if isinstance(exc, GuardStop):
        # max_replans from inside a subtask is a nested orchestrator giving up: a
        # failed worker (this team's own max_replans is raised outside its plans)
        return exc.reason is StopReason.MAX_TURNS or exc.reason is StopReason.MAX_REPLANS
    if isinstance(exc, ProviderError) and not isinstance(exc, IncompleteResponse):
        return False
    if isinstance(exc, ConfigError):
        return False
    return isinstance(exc, PodiumError) and not isinstance(exc, PlanError)
