"""The blackboard: what one agent writes is what the next one reads, as JSON."""

from __future__ import annotations

import json

from pydantic import BaseModel

from podium import Agent, EventKind, MemoryStore, Pipeline
from podium.testing import ScriptedModel


class Fact(BaseModel):
    title: str
    year: int


class Findings(BaseModel):
    facts: list[Fact]
    summary: str


async def test_a_list_of_models_written_to_the_blackboard_is_read_back_as_json() -> None:
    finder_model = ScriptedModel(['{"facts": [{"title": "T", "year": 1999}], "summary": "S"}'])
    writer_model = ScriptedModel(["draft"])
    finder = Agent("finder", model=finder_model, writes=["facts", "summary"], output_type=Findings)
    writer = Agent("writer", model=writer_model, reads=["facts"], writes=["draft"])
    store = MemoryStore()

    result = await Pipeline([finder, writer]).run("go", store=store)

    assert result.ok
    prompt = writer_model.requests[0].messages[-1].content
    assert prompt.endswith('### facts (by finder, v1, unverified)\n[{"title": "T", "year": 1999}]')
    events = await store.events(result.run_id)
    (facts,) = [
        e for e in events if e.kind is EventKind.BLACKBOARD_WRITE and e.payload["key"] == "facts"
    ]
    assert json.loads(facts.payload["value"]) == [{"title": "T", "year": 1999}]
