"""How a run ends: run-level checks, failure classification, and its record."""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from typing import Any

from podium._engine._context import StepContext, bound
from podium._engine._signals import GuardStop, mark_recorded
from podium.errors import IncompleteResponse, PodiumError, ProviderError
from podium.events import EventKind
from podium.guards._verify import Check, Verdict
from podium.memory._blackboard import EntryStatus
from podium.result import StopReason

__all__ = ["classify", "record_failure", "run_checks"]


def classify(exc: BaseException) -> tuple[StopReason, str]:
    if isinstance(exc, GuardStop):
        return exc.reason, str(exc)
    if isinstance(exc, ProviderError) and not isinstance(exc, IncompleteResponse):
        return StopReason.PROVIDER_FAILED, str(exc)
    if isinstance(exc, PodiumError):
        return StopReason.ERROR, str(exc)
    return StopReason.ERROR, f"{type(exc).__name__}: {exc}"


async def run_checks(checks: Sequence[Check], output: Any, ctx: StepContext) -> None:
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


def record_failure(ctx: StepContext, exc: BaseException) -> None:
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
