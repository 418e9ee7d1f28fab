"""Handoffs: transfers by tool, payload schemas, the allow-list, and the log."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from podium import Agent, ConfigError, EventKind, MemoryStore, StopReason, tool
from podium.patterns import Handoffs
from podium.testing import ScriptedModel, call


class Ticket(BaseModel):
    customer_id: str
    amount: float


async def test_a_hands_to_b_with_reason_and_the_log_shows_it() -> None:
    triage = Agent(
        "triage",
        handoffs=["billing"],
        model=ScriptedModel(
            [
                call(
                    "transfer_to_billing",
                    reason="refund question",
                    payload={"customer_id": "c-7", "amount": 12.5},
                ),
            ]
        ),
    )
    billing = Agent(
        "billing",
        role="handles refunds",
        handoff_input=Ticket,
        model=ScriptedModel(["refunded 12.50 to c-7"]),
    )
    store = MemoryStore()
    result = await Handoffs([triage, billing]).run("I want my money back", store=store)
    assert result.stop_reason is StopReason.COMPLETED
    assert result.output == "refunded 12.50 to c-7"
    events = await store.events(result.run_id)
    handoffs = [e for e in events if e.kind is EventKind.HANDOFF]
    assert len(handoffs) == 1
    h = handoffs[0]
    assert (h.payload["from"], h.payload["to"], h.payload["reason"]) == (
        "triage",
        "billing",
        "refund question",
    )
    assert h.payload["payload"] == {"customer_id": "c-7", "amount": 12.5}
    assert h.path == "root/hop[0]"
    billing_prompt = billing.model.requests[0].messages[-1].content  # type: ignore[union-attr]
    assert "refund question" in billing_prompt and "c-7" in billing_prompt
    assert [e.path for e in events if e.kind is EventKind.AGENT_START][-1] == "root/hop[1]"


async def test_incomplete_payload_is_rejected_and_sender_told_what_is_missing() -> None:
    triage = Agent(
        "triage",
        handoffs=["billing"],
        model=ScriptedModel(
            [
                call("transfer_to_billing", reason="refund", payload={"customer_id": "c-7"}),
                call(
                    "transfer_to_billing",
                    reason="refund",
                    payload={"customer_id": "c-7", "amount": 3},
                ),
            ]
        ),
    )
    billing = Agent("billing", handoff_input=Ticket, model=ScriptedModel(["ok"]))
    result = await Handoffs([triage, billing]).run("refund", store=MemoryStore())
    assert result.output == "ok"
    second = triage.model.requests[1]  # type: ignore[union-attr]
    tool_reply = [m for m in second.messages if m.role == "tool"][-1].content
    assert "payload.amount" in tool_reply and "Field required" in tool_reply


async def test_agent_cannot_hand_off_outside_its_allow_list() -> None:
    triage = Agent(
        "triage",
        handoffs=["billing"],
        model=ScriptedModel(
            [
                call("transfer_to_tech", reason="sneaky"),
                "I will answer myself",
            ]
        ),
    )
    tech = Agent("tech", model=ScriptedModel(["should never run"]))
    billing = Agent("billing", model=ScriptedModel(["never"]))
    store = MemoryStore()
    result = await Handoffs([triage, billing, tech]).run("help", store=store)
    assert result.output == "I will answer myself"
    assert tech.model.requests == []  # type: ignore[union-attr]
    events = await store.events(result.run_id)
    assert [e.payload["tool"] for e in events if e.kind is EventKind.SECURITY] == [
        "transfer_to_tech"
    ]
    assert not [e for e in events if e.kind is EventKind.HANDOFF]


async def test_endless_handoffs_stop_with_loop() -> None:
    ping = Agent(
        "ping",
        handoffs=["pong"],
        model=ScriptedModel(fn=lambda r: call("transfer_to_pong", reason="yours")),
    )
    pong = Agent(
        "pong",
        handoffs=["ping"],
        model=ScriptedModel(fn=lambda r: call("transfer_to_ping", reason="no, yours")),
    )
    result = await Handoffs([ping, pong], max_handoffs=4).run("x", store=MemoryStore())
    assert result.stop_reason is StopReason.LOOP


def test_unknown_handoff_target_is_refused() -> None:
    with pytest.raises(ConfigError, match="did you mean 'billing'"):
        Handoffs([Agent("triage", handoffs=["biling"]), Agent("billing")])
    with pytest.raises(ConfigError, match="triage hands off to itself"):
        Handoffs([Agent("triage", handoffs=["triage", "billing"]), Agent("billing")])
    with pytest.raises(ConfigError, match="max_handoffs must not be negative"):
        Handoffs([Agent("triage")], max_handoffs=-1)
    with pytest.raises(ConfigError, match="max_tokens must be at least 1"):
        Agent("triage", max_tokens=0)


def test_a_tool_named_like_a_handoff_tool_is_refused() -> None:
    @tool
    def transfer_to_billing(note: str) -> str:
        """Not a handoff."""
        return note

    with pytest.raises(ConfigError, match="rename the tool"):
        Handoffs(
            [Agent("triage", handoffs=["billing"], tools=[transfer_to_billing]), Agent("billing")]
        )


@pytest.mark.parametrize("name", ["té", "a b", "_", ""])
def test_agent_names_are_ascii_words_as_tool_names_need(name: str) -> None:
    # an agent's name becomes part of tool names (transfer_to_NAME), which providers
    # accept in ASCII only
    with pytest.raises(ConfigError, match="must be non-empty ASCII letters"):
        Agent(name)
