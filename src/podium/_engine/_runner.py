"""Running a runnable as a recorded run — and resuming or forking one."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from podium._engine._context import (
    Listener,
    Recorder,
    RunState,
    StepContext,
    Task,
    as_text,
    bound,
    make_task,
)
from podium._engine._lease import DEFAULT_TTL, Lease
from podium._engine._outcome import classify, record_failure, run_checks
from podium._engine._replay import ReplayLog
from podium._engine._signals import GuardStop
from podium.errors import ConfigError, ReplayDivergence, RunBusy
from podium.events import Event, EventKind
from podium.guards._budget import Budget, BudgetLedger
from podium.guards._limits import Limits, LoopPolicy
from podium.guards._verify import Check
from podium.observe._listeners import run_listeners
from podium.observe._redact import Redactor, default_redactor
from podium.result import Result, StopReason
from podium.store import RunRecord, RunStore, open_store

__all__ = ["RunOptions", "Runnable", "execute", "fork", "new_run_id", "resume"]


@runtime_checkable
class Runnable(Protocol):
    """Anything that can do a task inside a run: an agent or a team."""

    name: str
    role: str

    async def invoke(self, task: Task, ctx: StepContext) -> Any:
        """Do `task` at the step `ctx`; return the output."""
        ...


def new_run_id() -> str:
    """A fresh run id: a millisecond timestamp, then 64 random bits (27 hex digits).

    Ids sort by creation time; a unique prefix is enough on the command line.
    """
    return f"{int(time.time() * 1000):011x}{secrets.randbits(64):016x}"


@dataclass(kw_only=True)
class RunOptions:
    """Everything about a run besides the runnable and the task (see `RunMixin.run`)."""

    store: RunStore | None = None
    inputs: Mapping[str, str] | None = None
    run_id: str | None = None
    listeners: tuple[Listener, ...] = ()
    max_concurrency: int = 8
    redactor: Redactor | None = None
    budget: Budget | None = None
    limits: Limits | None = None
    loops: LoopPolicy | None = None
    checks: Sequence[Check] | None = None
    approver: Any = None
    meta: dict[str, Any] = field(default_factory=dict)
    lease_ttl: float = DEFAULT_TTL
    replay: ReplayLog | None = None
    resumed: dict[str, Any] | None = None
    record: RunRecord | None = None


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


_DEFAULT_LIMITS, _DEFAULT_LOOPS = Limits(), LoopPolicy()  # frozen: shared by runs


def _context(runnable: Runnable, run_id: str, store: RunStore, opts: RunOptions) -> StepContext:
    budget = opts.budget if opts.budget is not None else getattr(runnable, "budget", None)
    recorder = Recorder(
        store, run_id, (*opts.listeners, *run_listeners(run_id)), opts.redactor, opts.replay
    )
    state = RunState(
        run_id=run_id,
        recorder=recorder,
        max_concurrency=opts.max_concurrency,
        limits=opts.limits or getattr(runnable, "limits", None) or _DEFAULT_LIMITS,
        loops=opts.loops or getattr(runnable, "loops", None) or _DEFAULT_LOOPS,
        approver=opts.approver,
    )
    ledger = None
    if budget is not None and not budget.empty:  # the runnable's own share applies on top
        own = getattr(runnable, "budget", None)
        ledger = BudgetLedger(budget=budget, name="run", owner=id(runnable) if budget is own else 0)
    return StepContext(state=state, path="root", agent=runnable.name, ledger=ledger)


async def execute(runnable: Runnable, task: str, opts: RunOptions | None = None) -> Result:
    """Run `runnable` on `task`, recording every step; `opts` says where and how.

    `budget`, `limits`, `loops` and `checks` default to the runnable's own
    attributes of those names, when it has them.
    """
    opts = opts or RunOptions()
    if opts.max_concurrency < 1:  # a zero-slot semaphore would wait forever
        raise ConfigError(f"max_concurrency must be at least 1, not {opts.max_concurrency}")
    if opts.redactor is None:  # looked up once per run; the recorder and the record share it
        opts.redactor = default_redactor()
    redactor = opts.redactor
    async with _store_of(opts) as store:
        run_id = opts.run_id or new_run_id()
        lease = Lease(store, run_id, opts.lease_ttl)
        if opts.replay is None:
            record = RunRecord(
                run_id=run_id, name=runnable.name, task=redactor.scrub(task), created_at=time.time()
            )
            await lease.acquire(record, fresh=opts.run_id is None)
        else:
            record = opts.record or await _record(store, run_id)
            await lease.acquire()
        me = asyncio.current_task()
        try:
            return await _drive(runnable, task, record, store, opts, lease, me)
        except asyncio.CancelledError:
            if not lease.lost or me is None:
                raise
            me.uncancel()  # the cancellation was ours (see `_drive`), not the caller's
            raise RunBusy(
                f"this process lost the run's lease: it stalled for more than the lease's "
                f"{lease.ttl:g}s and another process took the run over; this one stopped "
                "without writing more (the other continues the run)",
                run_id=run_id,
            ) from None
        finally:
            await lease.release()


async def _drive(
    runnable: Runnable,
    task: str,
    record: RunRecord,
    store: RunStore,
    opts: RunOptions,
    lease: Lease,
    me: asyncio.Task[Any] | None,
) -> Result:
    """Run it; `me` is the task running it, cancelled if the lease is lost."""
    run_id = record.run_id
    ctx = _context(runnable, run_id, store, opts)
    state = ctx.state

    def lost() -> None:  # another process took the run over: stop, and write nothing more
        state.recorder.lose()
        if me is not None:
            me.cancel()

    lease.on_lost = lost
    if lease.pending is not None:  # the run's creation is on its way to the store
        state.recorder.track(lease.pending)
    budget = ctx.ledger.budget if ctx.ledger is not None else None
    inputs = dict(opts.inputs or {})
    if opts.resumed is None:
        ctx.emit(
            EventKind.RUN_START,
            payload={
                "task": bound(task),
                "inputs": inputs,
                "runnable": runnable.name,
                "budget": asdict(budget) if budget is not None else None,
                "meta": opts.meta,
            },
        )
        if not state.recorder.in_order:  # its model requests wait for the response:
            await state.recorder.flush()  # without its start a run cannot be resumed
    else:
        _tell_replayed(state.recorder.listeners, opts.replay)
        ctx.emit(EventKind.RUN_RESUMED, payload=opts.resumed)
    started = time.time()
    output: Any = None
    error: str | None = None
    stop = StopReason.COMPLETED
    try:
        output = await _invoke(
            runnable,
            make_task(task, inputs),
            ctx,
            budget.seconds if budget is not None else None,
        )
        await run_checks(
            opts.checks if opts.checks is not None else getattr(runnable, "checks", None) or (),
            output,
            ctx,
        )
    except ReplayDivergence as exc:
        stop, error = classify(exc)
        record_failure(ctx, exc)
        await _finish(ctx, record, lease, stop, None, error, started)
        raise
    except Exception as exc:  # every failure is recorded and returned, never lost
        stop, error = classify(exc)
        record_failure(ctx, exc)
    stop = await _finish(ctx, record, lease, stop, output, error, started)
    board = state.blackboard
    return Result(
        run_id=run_id,
        output=output if stop is StopReason.COMPLETED else None,
        stop_reason=stop,
        usage=state.usage,
        error=record.error,
        offline=record.offline,
        partial={e.key: e.text() for e in board.select(board.keys())},
    )


def _tell_replayed(listeners: Sequence[Listener], replay: ReplayLog | None) -> None:
    """Hand the earlier attempts' events to each listener with a ``replayed`` method.

    A resumed or forked run does not emit the steps already in its log again,
    so a listener that follows steps (OpenTelemetry's `RunSpans`) learns here,
    before the new attempt's first event, which of them are still going on.
    """
    if replay is None:
        return
    for listener in listeners:
        replayed = getattr(listener, "replayed", None)
        if replayed is not None:
            replayed(replay.events)


async def _finish(
    ctx: StepContext,
    record: RunRecord,
    lease: Lease,
    stop: StopReason,
    output: Any,
    error: str | None,
    started: float,
) -> StopReason:
    """Record the run's end: the last events, the final record and the lease, at once.

    Returns the stop reason, which becomes ``error`` when earlier events could not
    be stored.
    """
    state = ctx.state
    recorder = state.recorder
    redactor = recorder.redactor
    assert redactor is not None  # `execute` always sets one
    if not recorder.in_order:
        try:
            await recorder.settle()  # writes handed over without waiting: all made it?
        except Exception as exc:
            stop, error = _store_failed(ctx, exc, stop, error)
            output = None
    state.usage.total.wall_time_s = time.time() - started
    usage = state.usage.to_dict()
    ctx.emit(
        EventKind.RUN_END,
        started_at=started,
        payload={
            "stop_reason": str(stop),
            "error": error,
            "output": bound(as_text(output) if output is not None else ""),
            "usage": usage,
        },
    )
    record.status = str(stop)
    record.ended_at = time.time()
    record.output = redactor.scrub(as_text(output)) if output is not None else None
    record.error = redactor.scrub(error) if error else None
    record.usage = usage
    record.model = ", ".join(sorted(state.models))
    record.offline = state.offline_only and bool(state.models)
    # on an ordered store the end is queued behind the writes still in flight
    # (one commit for all of them, usually); their outcome is known once it is in
    await lease.finish(recorder.take(), record)
    if recorder.in_order:
        try:
            await recorder.settle()
        except Exception as exc:  # events are missing from the log: the run failed
            stop, error = _store_failed(ctx, exc, stop, error)
            record.status, record.output = str(stop), None
            record.error = redactor.scrub(error)
            await recorder.store.append(recorder.take())
            await recorder.store.finish_run(record)
    return stop


def _store_failed(
    ctx: StepContext, exc: Exception, stop: StopReason, error: str | None
) -> tuple[StopReason, str]:
    """The run's outcome once some of its events could not be stored."""
    record_failure(ctx, exc)
    if stop is StopReason.COMPLETED:
        return classify(exc)
    return stop, f"{error}; some of its events could not be stored either: {exc}"


def _start_of(events: list[Event], run_id: str) -> Event:
    for e in events:
        if e.kind is EventKind.RUN_START:
            return e
    raise ConfigError(f"run {run_id} has no run_start event; it cannot be resumed")


class _store_of:
    """The run's store: the one given, or the default one, closed afterwards.

    A class rather than `contextlib.asynccontextmanager`: every run enters it,
    and a generator-based manager costs several times more.
    """

    def __init__(self, opts: RunOptions) -> None:
        self.given = opts.store
        self.store = opts.store if opts.store is not None else open_store()

    async def __aenter__(self) -> RunStore:
        return self.store

    async def __aexit__(self, *exc: object) -> None:
        if self.given is None:
            await self.store.close()


async def _record(store: RunStore, run_id: str) -> RunRecord:
    """A recorded run (ConfigError if there is no such run)."""
    record = await store.get_run(run_id)
    if record is None:
        raise ConfigError(f"no run {run_id!r} in the store")
    return record


async def _load(store: RunStore, run_id: str) -> tuple[RunRecord, list[Event]]:
    """A recorded run and its events."""
    record = await _record(store, run_id)
    return record, await store.events(record.run_id)


async def resume(
    runnable: Runnable, run_id: str, *, reexecute: bool = False, opts: RunOptions | None = None
) -> Result:
    """Run `run_id` again: recorded steps answer from its log, the rest executes.

    Args:
        runnable: the same team (or agent) that started the run.
        run_id: the run to continue.
        reexecute: when a recorded step's request differs from the new one, run
            from that step on again instead of raising `ReplayDivergence`.
        opts: store, approver, listeners, ...; budget and inputs default to the
            run's original ones (spend so far is read back from the log).
    """
    opts = opts or RunOptions()
    async with _store_of(opts) as store:
        record, events = await _load(store, run_id)
        if record.status == StopReason.COMPLETED:
            raise ConfigError(f"run {record.run_id} already completed; fork it to run again")
        start = _start_of(events, record.run_id)
        opts.store, opts.run_id, opts.record = store, record.run_id, record
        opts.replay = ReplayLog(events=events, reexecute_on_divergence=reexecute)
        opts.resumed = {"previous_status": record.status, "reexecute": reexecute}
        _defaults_from(start, opts)
        return await execute(runnable, str(start.payload.get("task", "")), opts)


def _defaults_from(start: Event, opts: RunOptions) -> None:
    if opts.inputs is None:
        opts.inputs = dict(start.payload.get("inputs") or {})
    if opts.budget is None and start.payload.get("budget"):
        opts.budget = Budget(**start.payload["budget"])
    if not opts.meta:
        opts.meta = dict(start.payload.get("meta") or {})


def _step_hint(events: list[Event], at: str) -> str:
    """Step paths ending in `at` (a trace tree shows only each path's last part)."""
    near = sorted({e.path for e in events if e.path.endswith("/" + at.strip("/"))})
    if near:
        return f"; did you mean {' or '.join(repr(p) for p in near[:3])}?"
    return "; `podium trace RUN --json` lists its step paths"


async def fork(
    runnable: Runnable, run_id: str, at: str, *, opts: RunOptions | None = None
) -> Result:
    """A new run reusing `run_id`'s recorded steps before step `at`.

    Everything from `at` on executes again: for "what if" debugging and for
    fixing a bad step.
    """
    opts = opts or RunOptions()
    async with _store_of(opts) as store:
        record, events = await _load(store, run_id)
        start = _start_of(events, record.run_id)  # kept even when forking at "root"
        cut = next(
            (
                i
                for i, e in enumerate(events)
                if e is not start and (e.path == at or e.path.startswith(at + "/"))
            ),
            None,
        )
        if cut is None:
            raise ConfigError(f"run {record.run_id} has no step {at!r}{_step_hint(events, at)}")
        new_id = opts.run_id or new_run_id()
        copied = [
            Event.from_dict({**e.to_dict(), "run_id": new_id})
            for e in events[:cut]
            if e.kind is not EventKind.RUN_END
        ]
        for seq, e in enumerate(copied):
            e.seq = seq
        forked = RunRecord(
            run_id=new_id, name=record.name, task=record.task, created_at=time.time()
        )
        await store.create_run(forked)
        await store.append(copied)
        opts.store, opts.run_id, opts.record = store, new_id, forked
        opts.replay = ReplayLog(events=copied)
        opts.resumed = {"forked_from": record.run_id, "at": at}
        _defaults_from(start, opts)
        return await execute(runnable, str(start.payload.get("task", "")), opts)
