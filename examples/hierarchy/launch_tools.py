"""A tool and a stage check for the launch team (offline data)."""

from __future__ import annotations

from podium import tool

MARKET = [
    "Competitor A syncs notes only online; offline edits are lost on conflict.",
    "Competitor B works offline but charges per device.",
    "62% of surveyed users write notes on flights or trains at least monthly.",
    "Users rank search speed above formatting features.",
]


@tool
def search_market(query: str) -> list[str]:
    """Market and competitor notes that mention any word of the query."""
    words = {w.lower().strip(".,") for w in query.split() if len(w) > 3}
    hits = [note for note in MARKET if any(w in note.lower() for w in words)]
    return hits or MARKET


def not_empty(output: object) -> str | None:
    """None when the reviewed announcement has text, else feedback."""
    return None if str(output).strip() else "the announcement is empty; write it"
