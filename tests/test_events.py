"""The engine's fast constructors build what the dataclasses' own __init__ builds."""

from __future__ import annotations

import dataclasses

from podium._engine._context import Recorder, RunState, StepContext, _step_context
from podium.events import Event, EventKind, make_event
from podium.store import MemoryStore


def _same_fields(fast: object, slow: object) -> None:
    assert dataclasses.is_dataclass(fast) and type(fast) is type(slow)
    for f in dataclasses.fields(fast):  # a new field must be set by the fast constructor too
        assert getattr(fast, f.name) == getattr(slow, f.name), f.name
    assert fast == slow


def test_make_event_sets_every_field_like_the_dataclass_init() -> None:
    args = {
        "run_id": "r1",
        "seq": 3,
        "path": "root/w1",
        "parent": "root",
        "agent": "w1",
        "kind": EventKind.AGENT_END,
        "started_at": 1.5,
        "ended_at": 2.5,
        "payload": {"status": "ok"},
    }
    fast = make_event(**args)
    _same_fields(fast, Event(**args))
    assert fast.payload_json() == '{"status":"ok"}'


def test_step_context_fast_constructor_sets_every_field() -> None:
    state = RunState(run_id="r1", recorder=Recorder(MemoryStore(), "r1"))
    args = {"state": state, "path": "root/w", "parent": "root", "agent": "w", "depth": 2}
    fast, slow = _step_context(ledger=None, **args), StepContext(ledger=None, **args)
    for f in dataclasses.fields(StepContext):  # a new field must be set by _step_context too
        assert getattr(fast, f.name) is getattr(slow, f.name), f.name
    child = slow.child("task[t1]", agent="w1", nest=True)
    expected = ("root/w/task[t1]", "root/w", "w1", 3)
    assert (child.path, child.parent, child.agent, child.depth) == expected
    assert slow.as_agent("other").agent == "other" and slow.as_agent("other").path == "root/w"


def test_memory_store_copies_every_run_field() -> None:
    from podium.store import RunRecord
    from podium.store._memory import _copy

    run = RunRecord(run_id="r", name="n", task="t", status="completed", created_at=1.0)
    run.ended_at, run.output, run.error, run.model, run.offline = 2.0, "o", "e", "m", True
    run.usage = {"total": {}}
    copy = _copy(run)
    for f in dataclasses.fields(RunRecord):  # a new field must be copied too
        assert getattr(copy, f.name) == getattr(run, f.name), f.name
    assert copy is not run


def test_message_constructors_set_every_field() -> None:
    from podium.messages import Message

    _same_fields(Message.user("hi"), Message(role="user", content="hi"))
    _same_fields(Message.system("be brief"), Message(role="system", content="be brief"))

    class Tagged(Message):  # a subclass still gets instances of itself
        pass

    assert type(Tagged.user("hi")) is Tagged


def test_make_request_sets_every_field() -> None:
    from podium.messages import Message, ToolSpec
    from podium.models._base import ModelRequest, make_request

    args = {
        "messages": (Message.system("s"), Message.user("u")),
        "tools": (ToolSpec(name="t", description="d", parameters={"type": "object"}),),
        "max_tokens": 77,
        "temperature": 0.2,
        "output_schema": {"type": "object"},
        "output_name": "Plan",
    }
    _same_fields(make_request(**args), ModelRequest(**args))


def test_make_task_sets_every_field() -> None:
    from podium._engine._context import Task, make_task
    from podium.memory._blackboard import Entry

    entry = Entry(key="k", value="v", author="a", step="root")
    args = {
        "text": "do it",
        "inputs": {"x": "1"},
        "context": (("t1 (w)", "done"),),
        "memory": (entry,),
        "feedback": "again",
    }
    _same_fields(make_task(**args), Task(**args))
    _same_fields(make_task("t", {}), Task(text="t"))


def test_blackboard_entries_set_every_field() -> None:
    from podium.memory._blackboard import Blackboard, Entry, EntryStatus

    board = Blackboard()
    board.write("a", "first", author="w1", step="root/a")
    entry = board.write("k", {"n": 1}, author="w2", step="root/k", sources=["a", "a"])
    expected = Entry(
        key="k",
        value={"n": 1},
        author="w2",
        step="root/k",
        sources=("a",),
        version=1,
        written_at=entry.written_at,
    )
    _same_fields(entry, expected)
    assert entry.status is EntryStatus.UNVERIFIED and entry.reason is None
