"""Nothing leaves a run before the steps it depends on are committed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from podium import Agent, MemoryStore, SqliteStore, StopReason, ToolContext, tool
from podium.approvals import Approval, decide, pending_approvals
from podium.testing import ScriptedModel, call


async def test_a_write_tool_runs_only_after_its_call_and_the_model_steps_are_committed(
    tmp_path: Path,
    read_committed: Any,
) -> None:
    db = tmp_path / "runs.db"
    seen: list[list[str]] = []

    @tool(effect="write")
    def transfer(amount: int, ctx: ToolContext) -> str:
        """Move money."""
        seen.append(read_committed(db, ctx.run_id, "kind"))
        return "done"

    store = SqliteStore(db)
    script = [call("transfer", amount=5), call("transfer", amount=7), "paid"]
    agent = Agent("payer", model=ScriptedModel(script * 2), tools=[transfer])
    try:
        await agent.run("warm up the store", store=store)  # the next run is created without waiting
        seen.clear()
        result = await agent.run("pay twice", store=store)
    finally:
        await store.close()

    assert result.ok
    first, second = seen
    assert first[:5] == ["run_start", "agent_start", "model_request", "model_response", "tool_call"]
    assert first.count("tool_call") == 1 and "tool_result" not in first
    # the second call: the first one's result and the model call that asked again are in
    assert second.count("tool_result") == 1 and second.count("model_response") == 2
    assert second[-1] == "tool_call"


class _Killed(BaseException):
    """The process dies (as with kill -9): nothing after it is recorded."""


@pytest.mark.parametrize("decided", ["elsewhere", "in_process"])
async def test_an_approved_write_interrupted_after_its_effect_is_not_run_again_unasked(
    decided: str,
) -> None:
    sent: list[str] = []
    crashes = [1]

    @tool(effect="write", needs_approval=True)
    def send_email(to: str) -> str:
        """Send an email (not idempotent)."""
        sent.append(to)
        if crashes[0]:
            crashes[0] -= 1
            raise _Killed  # the email is out, its result never recorded
        return "sent"

    def clerk() -> Agent:
        return Agent(
            "clerk",
            tools=[send_email],
            model=ScriptedModel(
                fn=lambda r: (
                    "ok"
                    if any(m.role == "tool" for m in r.messages)
                    else call("send_email", to="x")
                )
            ),
        )

    store = MemoryStore()
    with pytest.raises(_Killed):
        if decided == "in_process":
            await clerk().run("go", store=store, run_id="r", approver=lambda request: True)
        else:
            await clerk().run("go", store=store, run_id="r")  # pauses at the gate
            (gate,) = await pending_approvals(store)
            await decide(store, "r", gate.step, Approval(approved=True))
            await clerk().resume("r", store=store)
    assert sent == ["x"]

    # the approval was used up by the interrupted attempt: a human decides again
    paused = await clerk().resume("r", store=store)
    assert paused.stop_reason is StopReason.WAITING_APPROVAL and sent == ["x"]
    (rerun,) = await pending_approvals(store)
    assert rerun.kind == "interrupted_write"
    await decide(store, "r", rerun.step, Approval(approved=True))
    done = await clerk().resume("r", store=store)
    assert done.ok and sent == ["x", "x"]  # run again once, as decided
