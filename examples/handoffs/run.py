"""Offline: the support desk from team.yaml, with scripted routing (no LLM, no key).

    python examples/handoffs/run.py

podium's demo model cannot decide where a ticket belongs, so this script plays
the models itself with `podium.testing.ScriptedModel`: triage reads the ticket
and calls transfer_to_billing or transfer_to_tech with a filled-in payload; the
desk looks the case up with its tool and answers. Everything else (the team,
the handoff tools, payload validation, the run log) is the real thing, built
from team.yaml. Swap the model for a real one to let an LLM route.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from podium import EventKind, MemoryStore, ToolCall
from podium.models import ModelRequest
from podium.patterns import Handoffs
from podium.spec import load_spec
from podium.testing import ScriptedModel, agent_of, call

TICKETS = [
    "I was charged twice for invoice INV-1042 and want one charge refunded.",
    "The desktop app crashes every time I export a note to PDF. I cannot send my report.",
]
BILLING_WORDS = ("charge", "invoice", "refund", "payment")


def _payload(user: str) -> dict[str, str]:
    found = re.search(r"^Payload: (\{.*\})$", user, re.MULTILINE)
    return json.loads(found.group(1)) if found else {}


def _triage(ticket: str) -> ToolCall:
    first_line = ticket.strip().splitlines()[0]
    if any(word in ticket.lower() for word in BILLING_WORDS):
        invoice = re.search(r"INV-\d+", ticket)
        return call(
            "transfer_to_billing",
            reason="the customer asks about a charge",
            payload={"invoice_id": invoice.group(0) if invoice else "unknown", "issue": first_line},
        )
    severity = "high" if "cannot" in ticket.lower() else "low"
    return call(
        "transfer_to_tech",
        reason="the customer reports a product problem",
        payload={"product": "desktop app", "symptom": first_line, "severity": severity},
    )


def support_models(request: ModelRequest) -> str | ToolCall:
    """Plays triage, billing and tech for the offline run."""
    agent = agent_of(request)
    user = next(m.content for m in request.messages if m.role == "user")
    results = [m.content for m in request.messages if m.role == "tool"]
    if agent == "triage":
        return _triage(user.split("\n\n## ", 1)[0])
    case = _payload(user)
    if agent == "billing":
        if not results:
            return call("lookup_invoice", invoice_id=case.get("invoice_id", ""))
        return f"I checked {results[0]} I refunded the duplicate charge; expect it in 3-5 days."
    if not results:
        return call("search_kb", query=case.get("symptom", ""))
    return f"Sorry about the crash ({case.get('severity')} priority). Fix: {results[0]}"


async def main() -> None:
    team = load_spec(Path(__file__).with_name("team.yaml")).build()
    assert isinstance(team, Handoffs)
    model = ScriptedModel(fn=support_models, name="scripted:support-desk")
    for agent in team.agents:
        agent.model = model
    store = MemoryStore()
    print("OFFLINE: a scripted model plays the agents; no LLM is called.\n")
    for ticket in TICKETS:
        result = await team.run(ticket, store=store)
        print(f"ticket:  {ticket}")
        for event in await store.events(result.run_id):
            if event.kind is EventKind.HANDOFF:
                hop = event.payload
                payload = json.dumps(hop["payload"])
                print(f"handoff: {hop['from']} -> {hop['to']}  payload {payload}")
        print(f"answer:  {result.output}")
        print(f"stop:    {result.stop_reason}  (run {result.run_id})\n")


if __name__ == "__main__":
    asyncio.run(main())
