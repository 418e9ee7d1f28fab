"""A small team run in a child process by the durability tests.

usage: python team_app.py run|resume DB CALLS_FILE [RUN_ID]

The scripted models append the agent's name to CALLS_FILE when a call
completes, so the tests can count real model calls across processes.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from podium import Agent, ModelRequest, Orchestrator, SqliteStore, ToolContext, tool
from podium.testing import ScriptedModel, agent_of

PLAN = json.dumps(
    {
        "subtasks": [
            {"id": f"t{i}", "assignee": f"w{i}", "instructions": f"part {i}"} for i in (1, 2, 3)
        ]
    }
)


def build(calls: Path, *, latency: float = 0.3, instructions: str = "plan well") -> Orchestrator:
    def answer(request: ModelRequest) -> str:
        name = agent_of(request)
        with calls.open("a") as f:
            f.write(name + "\n")
        if request.output_name == "Plan":
            return PLAN
        if name == "lead":
            return "final: " + " | ".join(m.content[-40:] for m in request.messages[1:])
        return f"{name} result"

    def model() -> ScriptedModel:
        return ScriptedModel(fn=answer, latency=latency)

    workers = [Agent(f"w{i}", role=f"worker {i}", model=model()) for i in (1, 2, 3)]
    lead = Agent("lead", instructions=instructions, model=model())
    return Orchestrator(planner=lead, workers=workers, max_concurrency=1)


@tool(effect="write", idempotent=True)
def append_line(line: str, ctx: ToolContext) -> str:
    """Append a line to the ledger file, once per idempotency key."""
    path = LEDGER
    lines = path.read_text().splitlines() if path.exists() else []
    if any(entry.startswith(ctx.idempotency_key + " ") for entry in lines):
        return "already written"
    with path.open("a") as f:
        f.write(f"{ctx.idempotency_key} {line}\n")
        f.flush()
    if CRASH_AFTER_WRITE.exists():  # simulate a crash between the effect and its record
        CRASH_AFTER_WRITE.unlink()
        import os
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
    return "written"


LEDGER = Path("ledger.txt")
CRASH_AFTER_WRITE = Path("crash-after-write")


async def main() -> None:
    mode, db, calls = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    store = SqliteStore(db)
    try:
        if mode == "writer":
            from podium.testing import call

            agent = Agent(
                "scribe",
                tools=[append_line],
                model=ScriptedModel(
                    fn=lambda r: (
                        "done"
                        if any(m.role == "tool" for m in r.messages)
                        else call("append_line", line="hello")
                    )
                ),
            )
            result = await (
                agent.resume(sys.argv[4], store=store)
                if len(sys.argv) > 4
                else agent.run("write", store=store, run_id="writer-run")
            )
        elif mode == "run":
            result = await build(calls).run("do it", store=store, run_id=sys.argv[4])
        else:
            extra = sys.argv[5] if len(sys.argv) > 5 else "plan well"
            result = await build(calls, instructions=extra).resume(sys.argv[4], store=store)
        print(json.dumps({"stop_reason": str(result.stop_reason), "output": result.output}))
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())
