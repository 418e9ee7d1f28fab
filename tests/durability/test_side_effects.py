"""Nothing leaves a run before the steps it depends on are committed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from podium import Agent, SqliteStore, ToolContext, tool
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
