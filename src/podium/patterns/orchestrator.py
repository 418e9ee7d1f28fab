"""Orchestrator–worker: a planner splits the goal, workers run the DAG, one aggregates."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from podium._engine._context import StepContext, Task, bound
from podium._engine._loop import LoopOptions
from podium._engine._runnable import RunMixin
from podium._engine._runner import Runnable
from podium._engine._signals import mark_recorded
from podium.agent import Agent
from podium.errors import ConfigError, OutputValidationError, PlanError
from podium.events import EventKind
from podium.patterns._plan import Plan, Subtask, plan_problems
from podium.registry import Registry

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


def _as_text(value: Any) -> str:
    if hasattr(value, "model_dump_json"):
        return str(value.model_dump_json())
    return str(value)


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
        max_subtasks: a plan with more subtasks is invalid.
        output_type: ``str`` or a pydantic model for the final answer.
    """

    _: KW_ONLY
    planner: Agent
    workers: Sequence[Runnable]
    aggregator: Agent | None = None
    name: str = "team"
    role: str = ""
    max_concurrency: int = 8
    max_subtasks: int = 20
    output_type: type[Any] = str
    registry: Registry = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.registry = Registry(self.workers)
        if not len(self.registry):
            raise ConfigError(f"team {self.name}: an orchestrator needs at least one worker")
        if self.max_concurrency < 1:
            raise ConfigError(f"team {self.name}: max_concurrency must be at least 1")

    async def invoke(self, task: Task, ctx: StepContext) -> Any:
        """Plan, run the subtasks, aggregate."""
        ctx = ctx.as_agent(self.name)
        started = time.time()
        ctx.emit(
            EventKind.AGENT_START,
            payload={"task": bound(task.text, 4_000), "role": self.role, "team": "orchestrator"},
        )
        status = "error"
        output: Any = None
        try:
            plan = await self._plan(task, ctx)
            results = await self._execute(plan, task, ctx)
            output = await self._aggregate(task, plan, results, ctx)
            status = "ok"
            return output
        finally:
            ctx.emit(
                EventKind.AGENT_END,
                started_at=started,
                payload={"status": status, "output": bound(_as_text(output or ""), 4_000)},
            )

    async def _plan(self, task: Task, ctx: StepContext) -> Plan:
        workers = self.registry.names

        def check(plan: Plan) -> None:
            problems = plan_problems(plan, workers, self.max_subtasks)
            if problems:
                raise ValueError("the plan is invalid: " + "; ".join(problems))

        prompt = Task(
            text=f"Plan the work for this goal.\n\n## Goal\n{task.text}\n\n"
            f"## Workers\n{self.registry.cards()}",
            inputs=task.inputs,
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
        ctx.emit(EventKind.PLAN, path=plan_ctx.path, payload={"plan": plan.model_dump()})
        return plan

    async def _execute(self, plan: Plan, task: Task, ctx: StepContext) -> dict[str, Any]:
        limit = min(self.max_concurrency, ctx.state.max_concurrency)
        semaphore = asyncio.Semaphore(limit)
        done = {s.id: asyncio.Event() for s in plan.subtasks}
        results: dict[str, Any] = {}
        by_id = {s.id: s for s in plan.subtasks}

        async def run_one(sub: Subtask) -> None:
            for dep in sub.depends_on:
                await done[dep].wait()
            context = tuple(
                (f"{d} ({by_id[d].assignee})", _as_text(results[d])) for d in sub.depends_on
            )
            worker = self.registry.get(sub.assignee)
            sub_ctx = ctx.child(f"task[{sub.id}]", agent=worker.name, nest=True)
            async with semaphore:
                started = time.time()
                sub_ctx.emit(
                    EventKind.SUBTASK_START,
                    payload={
                        "id": sub.id,
                        "assignee": sub.assignee,
                        "depends_on": sub.depends_on,
                        "instructions": bound(sub.instructions, 4_000),
                    },
                )
                output = await worker.invoke(
                    Task(text=sub.instructions, inputs=task.inputs, context=context), sub_ctx
                )
                sub_ctx.write(
                    f"task.{sub.id}",
                    output,
                    allowed=None,
                    sources=[f"task.{d}" for d in sub.depends_on],
                )
                sub_ctx.emit(
                    EventKind.SUBTASK_END,
                    started_at=started,
                    payload={
                        "id": sub.id,
                        "assignee": sub.assignee,
                        "output": bound(_as_text(output)),
                    },
                )
            results[sub.id] = output
            done[sub.id].set()

        await _run_all([run_one(s) for s in plan.subtasks])
        pending = [s.id for s in plan.subtasks if s.id not in results]
        if pending:  # never aggregate while a dispatched subtask has no result
            raise RuntimeError(f"team {self.name}: subtasks {pending} did not finish")
        return results

    async def _aggregate(
        self, task: Task, plan: Plan, results: dict[str, Any], ctx: StepContext
    ) -> Any:
        agent = self.aggregator or self.planner
        context = tuple(
            (f"{s.id} ({s.assignee}): {bound(s.instructions, 200)}", _as_text(results[s.id]))
            for s in plan.subtasks
        )
        return await agent.invoke(
            Task(text=task.text, inputs=task.inputs, context=context),
            ctx.child("aggregate", agent=agent.name),
            LoopOptions(output_type=self.output_type, extra_system=_AGGREGATOR_GUIDE),
        )


async def _run_all(coros: list[Any]) -> None:
    """Run coroutines concurrently; on the first failure cancel the rest and raise it."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        pending: set[asyncio.Future[Any]] = set(tasks)
        while pending:
            finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            for fut in finished:
                exc = fut.exception()
                if exc is not None:
                    raise exc
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
