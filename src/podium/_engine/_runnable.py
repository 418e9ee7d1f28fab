"""`run`, `resume` and `fork` (async and sync) for every runnable, as a mixin."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from podium._engine import _runner
from podium._engine._context import Listener
from podium._engine._runner import RunOptions
from podium.guards._budget import Budget
from podium.guards._limits import Limits, LoopPolicy
from podium.guards._verify import Check
from podium.observe._redact import Redactor
from podium.result import Result
from podium.store import RunStore

__all__ = ["RunMixin"]


class RunMixin:
    """Gives a runnable `run`, `resume` and `fork`, each with a `*_sync` twin."""

    async def run(
        self,
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
        approver: Any = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Result:
        """Run this on `task` as a recorded run and return its `Result`.

        Args:
            task: what to do.
            store: where to record the run; ``PODIUM_STORE`` or
                ``./.podium/podium.db`` by default.
            inputs: named run inputs shown to the agents.
            run_id: use this id instead of a fresh one.
            listeners: called with every event as it is recorded (progress UIs).
            max_concurrency: parallel subtasks at most.
            redactor: replaces secrets before anything is recorded; by default
                provider-key shapes and the values of secret environment
                variables (see `podium.observe.default_redactor`).
            budget: caps for the whole run (USD, tokens, calls, seconds); the
                runnable's own `budget` by default.
            limits: turn, depth, fan-out and re-plan limits.
            loops: loop-detector thresholds.
            checks: run-level verification (of the final output or blackboard
                entries); a failed required check stops with ``verification_failed``.
            approver: decides approval gates in process (`podium.approvals.Approver`);
                without one, a gate pauses the run until a decision is recorded.
            meta: kept in the run's first event (the CLI stores the spec path here).
        """
        return await _runner.execute(
            self,  # type: ignore[arg-type]
            task,
            RunOptions(
                store=store,
                inputs=inputs,
                run_id=run_id,
                listeners=listeners,
                max_concurrency=max_concurrency,
                redactor=redactor,
                budget=budget,
                limits=limits,
                loops=loops,
                checks=checks,
                approver=approver,
                meta=dict(meta or {}),
            ),
        )

    async def resume(
        self,
        run_id: str,
        *,
        store: RunStore | None = None,
        reexecute: bool = False,
        approver: Any = None,
        listeners: tuple[Listener, ...] = (),
        budget: Budget | None = None,
        checks: Sequence[Check] | None = None,
    ) -> Result:
        """Continue run `run_id` from its log: recorded steps are not paid for again.

        Raises:
            ReplayDivergence: a recorded step's request differs from the new one
                (unless `reexecute` is true, which runs from that step on again).
            RunBusy: another live process is running it.
        """
        return await _runner.resume(
            self,  # type: ignore[arg-type]
            run_id,
            reexecute=reexecute,
            opts=RunOptions(
                store=store, approver=approver, listeners=listeners, budget=budget, checks=checks
            ),
        )

    async def fork(
        self,
        run_id: str,
        at: str,
        *,
        store: RunStore | None = None,
        approver: Any = None,
        listeners: tuple[Listener, ...] = (),
    ) -> Result:
        """A new run reusing `run_id`'s steps before step `at`, re-executing from there.

        `listeners` are called with every event the new run records (progress UIs).
        """
        return await _runner.fork(
            self,  # type: ignore[arg-type]
            run_id,
            at,
            opts=RunOptions(store=store, approver=approver, listeners=listeners),
        )

    def run_sync(self, task: str, **kwargs: Any) -> Result:
        """`run`, for code without an event loop."""
        _no_running_loop("run")
        return asyncio.run(self.run(task, **kwargs))

    def resume_sync(self, run_id: str, **kwargs: Any) -> Result:
        """`resume`, for code without an event loop."""
        _no_running_loop("resume")
        return asyncio.run(self.resume(run_id, **kwargs))

    def fork_sync(self, run_id: str, at: str, **kwargs: Any) -> Result:
        """`fork`, for code without an event loop."""
        _no_running_loop("fork")
        return asyncio.run(self.fork(run_id, at, **kwargs))


def _no_running_loop(method: str) -> None:
    """Refuse a `*_sync` call made where an event loop already runs (async code, Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"{method}_sync() cannot be called while an event loop is running in this thread "
        f"(inside async code or a notebook): use `await {method}(...)` instead"
    )
