"""Reviewing a subtask's result: a reviewer function or agent gives a verdict."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from podium._engine._context import StepContext, Task, as_text, bound
from podium._engine._loop import LoopOptions
from podium.agent import Agent
from podium.events import EventKind
from podium.guards._verify import Verdict, failing_evidence, to_verdict
from podium.memory._blackboard import EntryStatus
from podium.patterns._plan import Subtask

__all__ = ["Review", "Reviewer", "review"]

#: A function ``(subtask, output) -> bool | str | Verdict | None`` (sync or async),
#: or an agent that answers with a `Review`.
Reviewer = Agent | Callable[[Subtask, Any], Any]

_GUIDE = (
    "You review one worker's result. Check it against the instructions and any evidence "
    "your tools give you. Answer passed=true only if the result is correct and complete; "
    "otherwise passed=false with a reason the worker can act on."
)


class Review(BaseModel):
    """A reviewer agent's verdict."""

    passed: bool = Field(description="true only if the result is correct and complete")
    reason: str = Field(description="what is wrong (or why it is right)")


async def _by_agent(
    reviewer: Agent, sub: Subtask, output: Any, ctx: StepContext
) -> tuple[Verdict, str | None]:
    verdict: Review = await reviewer.invoke(
        Task(
            text=f"Review the result of subtask {sub.id} done by {sub.assignee}.\n\n"
            f"## Instructions it was given\n{sub.instructions}",
            context=(("result to review", as_text(output)),),
        ),
        ctx,
        LoopOptions(output_type=Review, extra_system=_GUIDE),
    )
    mismatch = None
    if verdict.passed:  # compare the verdict with the evidence the reviewer saw
        for path, tool, value in ctx.state.tool_log:
            if path.startswith(ctx.path + "/"):
                problem = failing_evidence(value)
                if problem:
                    mismatch = f"the reviewer said pass, but its tool {tool} ({path}) {problem}"
                    break
    if mismatch:
        return Verdict(passed=False, reason=mismatch), mismatch
    return Verdict(passed=verdict.passed, reason=verdict.reason), None


async def review(
    reviewer: Reviewer, sub: Subtask, output: Any, key: str, ctx: StepContext, attempt: int
) -> Verdict:
    """Judge `output` of `sub`, mark blackboard entry `key`, and record the verdict."""
    name = (
        reviewer.name if isinstance(reviewer, Agent) else getattr(reviewer, "__name__", "reviewer")
    )
    review_ctx = ctx.child("review" + (f"#{attempt}" if attempt else ""), agent=name)
    mismatch = None
    if isinstance(reviewer, Agent):
        verdict, mismatch = await _by_agent(reviewer, sub, output, review_ctx)
    else:
        result = reviewer(sub, output)
        if inspect.isawaitable(result):
            result = await result
        verdict = to_verdict(result)
    if mismatch:
        review_ctx.emit(
            EventKind.NOTICE,
            payload={"code": "verification_mismatch", "key": key, "message": mismatch},
        )
    review_ctx.emit(
        EventKind.VERIFICATION,
        payload={
            "key": key,
            "passed": verdict.passed,
            "reason": bound(verdict.reason, 2_000),
            "by": name,
            "subtask": sub.id,
            "attempt": attempt,
            "mismatch": mismatch,
        },
    )
    status = EntryStatus.VERIFIED if verdict.passed else EntryStatus.REFUTED
    review_ctx.set_status(key, status, reason=verdict.reason)
    return verdict
