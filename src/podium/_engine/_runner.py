"""Running a runnable as a recorded run: the engine's entry point."""

from __future__ import annotations

import time
import traceback
import uuid
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from podium._engine._context import Listener, Recorder, RunState, StepContext, Task, bound
from podium._engine._signals import GuardStop, mark_recorded
from podium.errors import ConfigError, PodiumError
from podium.events import EventKind
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


async def execute(
    runnable: Runnable,
    task: str,
    *,
    store: RunStore | None = None,
    inputs: Mapping[str, str] | None = None,
    run_id: str | None = None,
    listeners: tuple[Listener, ...] = (),
    max_concurrency: int = 8,
) -> Result:
    """Run `runnable` on `task`, recording every step in `store`."""
    if max_concurrency < 1:  # a zero-slot semaphore would wait forever
        raise ConfigError(f"max_concurrency must be at least 1, not {max_concurrency}")
    own_store = store is None
    store = store if store is not None else open_store()
    run_id = run_id or new_run_id()
    record = RunRecord(run_id=run_id, name=runnable.name, task=task, created_at=time.time())
    recorder = Recorder(store, run_id, listeners)
    state = RunState(run_id=run_id, recorder=recorder, max_concurrency=max_concurrency)
    ctx = StepContext(state=state, path="root", agent=runnable.name)
    output: Any = None
    error: str | None = None
    stop = StopReason.COMPLETED
    try:
        await store.create_run(record)
        ctx.emit(
            EventKind.RUN_START,
            payload={"task": bound(task), "inputs": dict(inputs or {}), "runnable": runnable.name},
        )
        started = time.time()
        try:
            output = await runnable.invoke(Task(text=task, inputs=dict(inputs or {})), ctx)
        except GuardStop as stop_signal:
            stop, error = stop_signal.reason, str(stop_signal)
        except PodiumError as exc:
            stop, error = StopReason.ERROR, str(exc)
        except Exception as exc:  # a bug or an unexpected failure: recorded, not lost
            stop, error = StopReason.ERROR, f"{type(exc).__name__}: {exc}"
            if not mark_recorded(exc):
                ctx.emit(
                    EventKind.ERROR,
                    payload={
                        "error": type(exc).__name__,
                        "message": str(exc),
                        "traceback": bound("".join(traceback.format_exception(exc)), 8_000),
                    },
                )
        state.usage.total.wall_time_s = time.time() - started
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
        record.output = _output_text(output)
        record.error = error
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
    )
