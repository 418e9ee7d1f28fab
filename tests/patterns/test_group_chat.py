"""Group chat: speaker selection, termination, and the visible history window."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence

import pytest

from podium import Agent, ConfigError, EventKind, MemoryStore, ModelRequest, StopReason
from podium.patterns import ChatMessage, GroupChat
from podium.testing import ScriptedModel, agent_of


def numbered(name: str) -> Agent:
    """An agent whose n-th message is 'NAME says #n'."""
    counter = itertools.count()

    def answer(request: ModelRequest) -> str:
        return f"{name} says #{next(counter)}"

    return Agent(
        name, role=f"{name} role", instructions=f"you are {name}", model=ScriptedModel(fn=answer)
    )


def user_prompt(agent: Agent, index: int) -> str:
    model = agent.model
    assert isinstance(model, ScriptedModel)
    return next(m.content for m in model.requests[index].messages if m.role == "user")


async def test_round_robin_stops_at_max_rounds() -> None:
    a, b, c = numbered("a"), numbered("b"), numbered("c")
    store = MemoryStore()
    result = await GroupChat([a, b, c], max_rounds=5, window=None).run("plan a picnic", store=store)
    assert result.stop_reason is StopReason.COMPLETED
    events = await store.events(result.run_id)
    spoken = [e.payload["speaker"] for e in events if e.kind is EventKind.CHAT_MESSAGE]
    assert spoken == ["a", "b", "c", "a", "b"]
    assert result.output == "b says #1"
    ended = [e for e in events if e.kind is EventKind.NOTICE and e.payload["code"] == "chat_ended"]
    assert ended[0].payload["reason"] == "max_rounds"


async def test_termination_condition_and_done_signal() -> None:
    a, b = numbered("a"), numbered("b")

    def two_from_b(messages: Sequence[ChatMessage]) -> bool:
        return sum(m.speaker == "b" for m in messages) == 2

    result = await GroupChat([a, b], max_rounds=10, terminate=two_from_b).run(
        "x", store=MemoryStore()
    )
    assert result.output == "b says #1"

    closer = Agent("closer", model=ScriptedModel(["all settled. DONE"]))
    store = MemoryStore()
    done = await GroupChat([numbered("talker"), closer], max_rounds=10).run("x", store=store)
    assert done.output == "all settled."
    spoken = [e for e in await store.events(done.run_id) if e.kind is EventKind.CHAT_MESSAGE]
    assert len(spoken) == 2


async def test_window_hides_old_rounds_but_keeps_task_and_instructions() -> None:
    a, b = numbered("a"), numbered("b")
    store = MemoryStore()
    window = 2
    result = await GroupChat([a, b], max_rounds=8, window=window).run(
        "ORIGINAL-TASK: name the boat", store=store
    )
    # round N = 6 is a's 4th turn (index 3); it must not show round N - window - 1 = 3
    prompt = user_prompt(a, 3)
    assert "ORIGINAL-TASK" in prompt
    assert "[round 5]" in prompt and "[round 4]" in prompt
    assert "[round 3]" not in prompt and "b says #1" not in prompt
    assert "4 earlier messages not shown" in prompt
    system = a.model.requests[3].messages[0].content  # type: ignore[union-attr]
    assert "you are a" in system
    notices = [
        e
        for e in await store.events(result.run_id)
        if e.kind is EventKind.NOTICE and e.payload["code"] == "history_truncated"
    ]
    assert [n.payload["hidden"] for n in notices] == [1, 2, 3, 4, 5]


async def test_selector_function_and_model_selector() -> None:
    a, b = numbered("a"), numbered("b")
    always_b = GroupChat([a, b], max_rounds=3, selector=lambda msgs, names: "b")
    assert (await always_b.run("x", store=MemoryStore())).output == "b says #2"

    picks = iter(['{"speaker": "bb"}', '{"speaker": "a"}', '{"speaker": "b"}'])
    chooser = Agent("chooser", model=ScriptedModel(fn=lambda r: next(picks)))
    chat = GroupChat([numbered("a"), numbered("b")], max_rounds=2, selector=chooser)
    store = MemoryStore()
    result = await chat.run("x", store=store)
    spoken = [
        e.payload["speaker"]
        for e in await store.events(result.run_id)
        if e.kind is EventKind.CHAT_MESSAGE
    ]
    assert spoken == ["a", "b"]  # the invalid first pick was repaired once


async def test_more_than_three_participants_warns(caplog: pytest.LogCaptureFixture) -> None:
    people = [numbered(n) for n in "abcd"]
    store = MemoryStore()
    with caplog.at_level(logging.WARNING, logger="podium.group_chat"):
        result = await GroupChat(people, max_rounds=1).run("x", store=store)
    assert "4 participants" in caplog.text
    codes = [
        e.payload["code"] for e in await store.events(result.run_id) if e.kind is EventKind.NOTICE
    ]
    assert "many_participants" in codes


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ConfigError, match="at least two"):
        GroupChat([numbered("a")])
    with pytest.raises(ConfigError, match="window"):
        GroupChat([numbered("a"), numbered("b")], window=0)


def test_agent_of_reads_the_system_prompt() -> None:
    from podium.messages import Message

    request = ModelRequest(messages=(Message.system("You are zed, a helper."),))
    assert agent_of(request) == "zed"


def test_default_window_is_what_was_said_since_the_speakers_last_turn() -> None:
    three = GroupChat([numbered("a"), numbered("b"), numbered("c")])
    assert three.visible_window == 2
    five = GroupChat([numbered(n) for n in "abcde"])
    assert five.visible_window == 4
    assert GroupChat([numbered("a"), numbered("b")]).visible_window == 2
    assert GroupChat([numbered("a"), numbered("b")], window=None).visible_window is None


async def test_an_agent_selector_can_only_name_a_participant() -> None:
    # the choice's schema lists the participants: even the offline demo model picks one
    names = ["a", "b", "c", "d"]
    chat = GroupChat(
        [Agent(n, model="scripted:demo") for n in names],
        selector=Agent("mod", model="scripted:demo"),
        max_rounds=2,
    )
    store = MemoryStore()
    result = await chat.run("x", store=store)
    assert result.stop_reason is not StopReason.ERROR, result.error
    speakers = [
        e.payload["speaker"]
        for e in await store.events(result.run_id)
        if e.kind is EventKind.CHAT_MESSAGE
    ]
    assert speakers and set(speakers) <= set(names)
