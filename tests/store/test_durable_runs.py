"""Pause, decide from a second store instance, and resume — on every backend."""

from __future__ import annotations

import asyncio
import json

import pytest
from store_kit import Backend

from podium import Agent, EventKind, Orchestrator, StopReason, tool
from podium.approvals import Approval, ask_human, decide, pending_approvals
from podium.errors import ConfigError, RunBusy
from podium.testing import ScriptedModel, call


def asking_agent() -> tuple[Agent, ScriptedModel]:
    model = ScriptedModel(
        fn=lambda r: next(
            (f"going with {m.content}" for m in r.messages if m.role == "tool"),
            call("ask_human", question="Which region?"),
        )
    )
    return Agent("planner", tools=[ask_human], model=model), model


async def test_pause_decide_elsewhere_resume(backend: Backend) -> None:
    agent, model = asking_agent()
    first = backend.open()
    paused = await agent.run("deploy", store=first)
    assert paused.stop_reason is StopReason.WAITING_INPUT
    other = backend.open()  # another process would open its own store
    (pending,) = await pending_approvals(other)
    assert pending.run_id == paused.run_id and pending.arguments == "Which region?"
    await decide(other, paused.run_id, pending.step, Approval(approved=True, answer="eu"))
    done = await agent.resume(paused.run_id, store=backend.open())
    assert done.output == "going with eu" and len(model.requests) == 2
    events = await other.events(paused.run_id)
    assert [e.seq for e in events] == list(range(len(events)))
    kinds = [e.kind for e in events]
    assert kinds.count(EventKind.MODEL_RESPONSE) == 2 and kinds.count(EventKind.RUN_END) == 2
    record = await other.get_run(paused.run_id)
    assert record is not None and record.status == "completed"


async def test_second_live_owner_is_refused(backend: Backend) -> None:
    gate = asyncio.Event()

    @tool
    async def wait_here() -> str:
        """Block until released."""
        await gate.wait()
        return "released"

    slow = Agent(
        "slow",
        tools=[wait_here],
        model=ScriptedModel(
            fn=lambda r: "done" if any(m.role == "tool" for m in r.messages) else call("wait_here")
        ),
    )
    store = backend.open()
    running = asyncio.create_task(slow.run("x", store=store, run_id="busy-run"))
    await asyncio.sleep(0.2)
    try:
        await slow.resume("busy-run", store=backend.open())
        raise AssertionError("a second owner was allowed")
    except RunBusy as exc:
        assert "busy-run" in str(exc)
    gate.set()
    assert (await running).ok


async def test_fork_reuses_steps_before_the_fork_point(backend: Backend) -> None:
    plan = json.dumps(
        {
            "subtasks": [
                {"id": "t1", "assignee": "w", "instructions": "a"},
                {"id": "t2", "assignee": "w", "instructions": "b"},
            ]
        }
    )
    lead = ScriptedModel(fn=lambda r: plan if r.output_name == "Plan" else "final")
    answers = iter(["first a", "first b", "second b"])
    worker = ScriptedModel(fn=lambda r: next(answers))
    team = Orchestrator(
        planner=Agent("lead", model=lead), workers=[Agent("w", model=worker)], max_concurrency=1
    )
    store = backend.open()
    original = await team.run("x", store=store)
    seen: list[str] = []
    forked = await team.fork(
        original.run_id, "root/task[t2]", store=store, listeners=(lambda e: seen.append(e.path),)
    )
    assert forked.ok and forked.run_id != original.run_id
    assert "root/task[t2]/model#0" in seen  # a listener follows the forked run
    assert len(lead.requests) == 3  # plan + final, then only the final again
    assert len(worker.requests) == 3  # t1 replayed, only t2 ran again
    outputs = {
        e.payload["id"]: e.payload["output"]
        for e in await store.events(forked.run_id)
        if e.kind is EventKind.SUBTASK_END
    }
    assert outputs == {"t1": "first a", "t2": "second b"}
    # a trace tree shows each step's last part; fork names the full path it meant
    with pytest.raises(ConfigError, match=r"no step 'task\[t2\]'; did you mean 'root/task\[t2\]'"):
        await team.fork(original.run_id, "task[t2]", store=store)
    assert len(await store.list_runs()) == 2  # the refused fork left no run behind


def test_request_hash_of_a_recorded_call_never_changes() -> None:
    """Resuming compares new requests with hashes in old logs: the hashed bytes are fixed."""
    from podium import Message, ModelRequest, ToolCall, tool
    from podium._engine._replay import request_hash

    @tool
    def search(query: str) -> str:
        """Search the web."""
        return query

    call = ToolCall(id="c1", name="search", arguments='{"query": "tide pools"}')
    request = ModelRequest(
        messages=(
            Message.system("You are é."),
            Message.user("find"),
            Message.assistant("", (call,)),
            Message.tool(call, "3 results"),
        ),
        tools=(search.spec,),
        max_tokens=100,
        output_name="Plan",
    )
    # the value recorded by earlier versions of podium for this request; the second
    # call starts from the cached state after the system message
    for _ in range(2):
        assert request_hash("scripted:x", request) == "c5976a027a03cb02619e6ce0532ad773"
    assert request_hash("scripted:y", request) != "c5976a027a03cb02619e6ce0532ad773"
    # plain messages, hashed without joining (recorded by earlier versions too)
    plain = ModelRequest(
        messages=(
            Message.system("You are é."),
            Message.user("find"),
            Message.assistant("I will look."),
            Message.user("go on"),
        )
    )
    assert request_hash("scripted:x", plain) == "6b470b49ab5840f01ff9545058cb88fa"


class _Killed(BaseException):
    """The process dies (as with kill -9): nothing after it is recorded."""


async def test_a_run_killed_during_its_first_model_call_resumes(backend: Backend) -> None:
    calls: list[str] = []

    def answer(request: object) -> str:
        calls.append("call")
        if len(calls) == 1:
            raise _Killed  # the process dies while the first model call is out
        return "done"

    # the model takes a moment, as a real one does
    agent = Agent("solo", model=ScriptedModel(fn=answer, latency=0.01))
    with pytest.raises(_Killed):
        await agent.run("hello", store=backend.open(), run_id="early")
    resumed = await agent.resume("early", store=backend.open())
    assert resumed.ok and resumed.output == "done"


async def test_a_decision_from_another_process_stores_no_secret(backend: Backend) -> None:
    key = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2"
    agent, _ = asking_agent()
    store = backend.open()
    paused = await agent.run("deploy", store=store)
    (pending,) = await pending_approvals(store)
    await decide(
        backend.open(),
        paused.run_id,
        pending.step,
        Approval(approved=True, answer="eu", comment=f"the key is {key}"),
    )
    (decision,) = [
        e for e in await store.events(paused.run_id) if e.kind is EventKind.APPROVAL_DECISION
    ]
    assert key not in decision.payload_json() and "[REDACTED]" in decision.payload["comment"]


async def test_fork_at_the_root_runs_everything_again(backend: Backend) -> None:
    model = ScriptedModel(["first", "second"])
    agent = Agent("solo", model=model)
    store = backend.open()
    original = await agent.run("write it", store=store, inputs={"tone": "dry"})
    forked = await agent.fork(original.run_id, "root", store=store)
    assert forked.ok and forked.output == "second"
    assert "tone: dry" in model.requests[1].messages[-1].content  # same task and inputs
    assert [r.status for r in await store.list_runs()] == ["completed", "completed"]
