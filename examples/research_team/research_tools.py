"""Tools for the example research team: a small offline knowledge base."""

from __future__ import annotations

from podium import tool

NOTES = {
    "sqlite": [
        "SQLite is an embedded database: one file, no server process, zero setup.",
        "SQLite allows one writer at a time; WAL mode lets readers run alongside it.",
        "SQLite is a good fit for single-machine tools with modest write concurrency.",
    ],
    "postgresql": [
        "PostgreSQL is a client-server database with many concurrent writers (MVCC).",
        "PostgreSQL needs a server to run, back up and upgrade.",
        "PostgreSQL offers roles, row-level security, replication and rich extensions.",
    ],
    "cost": [
        "An embedded database adds no hosting cost; a managed PostgreSQL starts at a few "
        "dollars a month.",
    ],
}


@tool
def search_notes(query: str, limit: int = 4) -> list[str]:
    """Search the team's notes for facts about a topic.

    Returns the notes whose topic appears in the query (case-insensitive).
    """
    words = query.lower()
    hits = [note for topic, notes in NOTES.items() if topic in words for note in notes]
    if not hits:
        hits = [note for notes in NOTES.values() for note in notes]
    return hits[:limit]
