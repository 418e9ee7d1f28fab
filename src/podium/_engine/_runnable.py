"""`run` / `run_sync` for every runnable, as a mixin."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from podium._engine._context import Listener
from podium.guards._budget import Budget
from podium.guards._limits import Limits, LoopPolicy
from podium.guards._verify import Check
from podium.observe._redact import Redactor
from podium.result import Result
from podium.store import RunStore

__all__ = ["RunMixin"]


class RunMixin:
    """Gives a runnable `run` (async) and `run_sync`."""

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
        """
        from podium._engine._runner import execute

        return await execute(
            self,  # type: ignore[arg-type]
            task,
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
        )

    def run_sync(self, task: str, **kwargs: Any) -> Result:
        """`run`, for code without an event loop."""
        return asyncio.run(self.run(task, **kwargs))
