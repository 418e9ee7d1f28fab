"""Running a runnable as a recorded run: the engine's entry point."""

from __future__ import annotations

import asyncio
import time
import traceback
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any, Protocol, runtime_checkable

from podium._engine._context import Listener, Recorder, RunState, StepContext, Task, bound
from podium._engine._signals import GuardStop, mark_recorded
from podium.errors import ConfigError, IncompleteResponse, PodiumError, ProviderError
from podium.events import EventKind
from podium.guards._budget import Budget, BudgetLedger
from podium.guards._limits import Limits, LoopPolicy
from podium.guards._verify import Check, Verdict
from podium.memory._blackboard import EntryStatus
from podium.observe._listeners import run_listeners
from podium.observe._redact import Redactor, default_redactor
from podium.result import Result, StopReason
from podium.store import RunRecord, RunStore, open_store

__all__ = ["Runnable", "execute", "new_run_id"]


@runtime_checkable
class Runnable(Protocol):
    """Anything that can do a task inside a run: an agent or a team."""

    name: str
    role: str

    async def invoke(self, task: Task, ctx: StepContext) -> Any:
        """Do `task` at the step `ctx`; return the output."""
        ...


def new_run_id() -> str:
    """A fresh run id: time-ordered, 16 hex digits."""
    return f"{int(time.time() * 1000):011x}{uuid.uuid4().hex[:5]}"


def _output_text(output: Any) -> str | None:
    if output is None:
        return None
    if hasattr(output, "model_dump_json"):
        return str(output.model_dump_json())
    return str(output)


def _classify(exc: BaseException) -> tuple[StopReason, str]:
    if isinstance(exc, GuardStop):
        return exc.reason, str(exc)
    if isinstance(exc, ProviderError) and not isinstance(exc, IncompleteResponse):
        return StopReason.PROVIDER_FAILED, str(exc)
    if isinstance(exc, PodiumError):
        return StopReason.ERROR, str(exc)
    return StopReason.ERROR, f"{type(exc).__name__}: {exc}"


async def _invoke(runnable: Runnable, task: Task, ctx: StepContext, seconds: float | None) -> Any:
    """Invoke under the wall-clock budget: at the deadline in-flight calls are cancelled."""
    if seconds is None:
        return await runnable.invoke(task, ctx)
    try:
        async with asyncio.timeout(seconds):
            return await runnable.invoke(task, ctx)
    except TimeoutError:
        raise GuardStop(
            StopReason.BUDGET,
            f"the wall-clock budget of {seconds:g}s ran out",
            path=ctx.path,
            agent=ctx.agent,
        ) from None


async def _run_checks(checks: Sequence[Check], output: Any, ctx: StepContext) -> None:
    """Run-level verification; a failed (or impossible) required check stops the run."""
    board = ctx.state.blackboard
    for index, check in enumerate(checks):
        path = f"root/verify[{index}]"
        name = getattr(check.verifier, "name", type(check.verifier).__name__)
        entry = None if check.target == "final" else board.get(check.target)
        if check.target != "final" and entry is None:
            verdict = Verdict(
                passed=False,
                reason=f"no blackboard entry {check.target!r}: the check could not run",
            )
        else:
            value = output if entry is None else entry.value
            verdict = await check.verifier.verify(value)
        ctx.emit(
            EventKind.VERIFICATION,
            path=path,
            payload={
                "key": check.target,
                "passed": verdict.passed,
                "reason": bound(verdict.reason, 2_000),
                "by": name,
                "required": check.required,
            },
        )
        if entry is not None:
            status = EntryStatus.VERIFIED if verdict.passed else EntryStatus.REFUTED
            ctx.as_agent(name).set_status(check.target, status, reason=verdict.reason)
        if check.required and not verdict.passed:
            lineage = [
                {"key": e.key, "author": e.author, "step": e.step}
                for e in board.lineage(check.target)
            ]
            raise GuardStop(
                StopReason.VERIFICATION_FAILED,
                f"required check {name} on {check.target} failed: {verdict.reason}",
                path=path,
                agent=name,
                data={"key": check.target, "lineage": lineage},
            )


def _record_failure(ctx: StepContext, exc: BaseException) -> None:
    if isinstance(exc, GuardStop):
        ctx.emit(
            EventKind.GUARD_STOP,
            path=exc.path,
            payload={
                "reason": str(exc.reason),
                "detail": exc.detail,
                "agent": exc.agent,
                **exc.data,
            },
        )
    elif not mark_recorded(exc):
        ctx.emit(
            EventKind.ERROR,
            payload={
                "error": type(exc).__name__,
                "code": getattr(exc, "code", "exception"),
                "message": str(exc),
                "traceback": bound("".join(traceback.format_exception(exc)), 8_000),
            },
        )


async def execute(
    runnable: Runnable,
    task: str,
    *,
    store: RunStore | None = None,
    inputs: Mapping[str, str] | None = None,
    run_id: str | None = None,
    listeners: tuple[Listener, ...] = (),
    max_concurrency: int = 8,
    redactor: Redactor | None = None,
    budget: Budget | None = None,
    limits: Limits | None = None,
    loops: LoopPolicy | None = None,
    checks: Sequence[Check] | None = None,
) -> Result:
    """Run `runnable` on `task`, recording every step in `store`.

    `budget`, `limits`, `loops` and `checks` default to the runnable's own
    attributes of those names, when it has them.
    """
    if max_concurrency < 1:  # a zero-slot semaphore would wait forever
        raise ConfigError(f"max_concurrency must be at least 1, not {max_concurrency}")
    budget = budget if budget is not None else getattr(runnable, "budget", None)
    limits = limits or getattr(runnable, "limits", None) or Limits()
    loops = loops or getattr(runnable, "loops", None) or LoopPolicy()
    checks = checks if checks is not None else getattr(runnable, "checks", None) or ()
    own_store = store is None
    store = store if store is not None else open_store()
    run_id = run_id or new_run_id()
    redactor = redactor if redactor is not None else default_redactor()
    record = RunRecord(
        run_id=run_id, name=runnable.name, task=redactor.scrub(task), created_at=time.time()
    )
    recorder = Recorder(store, run_id, (*listeners, *run_listeners(run_id)), redactor)
    state = RunState(
        run_id=run_id,
        recorder=recorder,
        max_concurrency=max_concurrency,
        limits=limits,
        loops=loops,
    )
    own = getattr(runnable, "budget", None)
    ledger = None
    if budget is not None and not budget.empty:  # the runnable's own share applies on top
        ledger = BudgetLedger(budget=budget, name="run", owner=id(runnable) if budget is own else 0)
    ctx = StepContext(state=state, path="root", agent=runnable.name, ledger=ledger)
    output: Any = None
    error: str | None = None
    stop = StopReason.COMPLETED
    try:
        await store.create_run(record)
        ctx.emit(
            EventKind.RUN_START,
            payload={
                "task": bound(task),
                "inputs": dict(inputs or {}),
                "runnable": runnable.name,
                "budget": asdict(budget) if budget is not None else None,
            },
        )
        started = time.time()
        try:
            output = await _invoke(
                runnable,
                Task(text=task, inputs=dict(inputs or {})),
                ctx,
                budget.seconds if budget is not None else None,
            )
            await _run_checks(checks, output, ctx)
        except Exception as exc:  # every failure is recorded and returned, never lost
            stop, error = _classify(exc)
            _record_failure(ctx, exc)
        state.usage.total.wall_time_s = time.time() - started
        board = state.blackboard
        partial = {e.key: e.text() for e in board.select(board.keys())}
        ctx.emit(
            EventKind.RUN_END,
            started_at=started,
            payload={
                "stop_reason": str(stop),
                "error": error,
                "output": bound(_output_text(output) or ""),
                "usage": state.usage.to_dict(),
            },
        )
        await recorder.flush()
        record.status = str(stop)
        record.ended_at = time.time()
        record.output = redactor.scrub(_output_text(output) or "") if output is not None else None
        record.error = error = redactor.scrub(error) if error else None
        record.usage = state.usage.to_dict()
        record.model = ", ".join(sorted(state.models))
        record.offline = state.offline_only and bool(state.models)
        await store.finish_run(record)
    finally:
        if own_store:
            await store.close()
    return Result(
        run_id=run_id,
        output=output if stop is StopReason.COMPLETED else None,
        stop_reason=stop,
        usage=state.usage,
        error=error,
        offline=record.offline,
        partial=partial,
    )
