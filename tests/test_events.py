"""The event record: the recorder's fast constructor builds what `Event(...)` builds."""

from __future__ import annotations

import dataclasses

from podium.events import Event, EventKind, make_event


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
    fast, slow = make_event(**args), Event(**args)
    for f in dataclasses.fields(Event):  # a new field must be set by make_event too
        assert getattr(fast, f.name) == getattr(slow, f.name), f.name
    assert fast == slow
    assert fast.payload_json() == '{"status":"ok"}'
