"""The support desk's handoff payloads and tools (offline data)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from podium import tool


class BillingCase(BaseModel):
    """What billing needs to take a ticket over."""

    invoice_id: str = Field(description="the invoice the ticket is about, e.g. INV-1042")
    issue: str = Field(description="the billing problem in one sentence")


class TechCase(BaseModel):
    """What tech support needs to take a ticket over."""

    product: str = Field(description="the product or app the problem is in")
    symptom: str = Field(description="what goes wrong, in the customer's words")
    severity: Literal["low", "high"] = Field(description="high if the customer cannot work")


INVOICES = {
    "INV-1042": "INV-1042: 49.00 EUR charged twice on 3 March (card retry); one charge refundable.",
    "INV-1043": "INV-1043: 49.00 EUR paid on 3 April; no issues.",
}
KNOWLEDGE_BASE = {
    "export": "KB-17: PDF export crashes on files with embedded fonts; update to 3.2.1 or "
    "turn off 'Embed fonts' under Settings > Export.",
    "sync": "KB-9: sync stalls behind proxies; allow *.sync.example.com on port 443.",
}


@tool
def lookup_invoice(invoice_id: str) -> str:
    """The billing record of an invoice."""
    return INVOICES.get(invoice_id.strip().upper(), f"no invoice {invoice_id!r} on record")


@tool
def search_kb(query: str) -> str:
    """Knowledge-base articles matching the query."""
    hits = [text for key, text in KNOWLEDGE_BASE.items() if key in query.lower()]
    return "\n".join(hits) or "no article found; escalate to engineering"
