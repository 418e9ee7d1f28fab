"""What the store tests share: a backend handle, and runs and events to write."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from podium import Event, EventKind
from podium.store import RunRecord, RunStore

PG_URL = os.environ.get("PODIUM_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def pg_admin(statement: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Run one statement on the test database outside any test schema."""
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        cur = conn.execute(statement.encode(), params)
        return cur.fetchall() if cur.description else []


def record(run_id: str, created_at: float = 1_000.0, **kwargs: Any) -> RunRecord:
    kwargs.setdefault("task", "do it")
    return RunRecord(run_id=run_id, name="team", created_at=created_at, **kwargs)


def event(
    run_id: str, seq: int, kind: EventKind = EventKind.MODEL_RESPONSE, **payload: Any
) -> Event:
    return Event(
        run_id=run_id,
        seq=seq,
        path=f"root/model#{seq}",
        parent="root",
        agent="a",
        kind=kind,
        started_at=100.0 + seq,
        ended_at=100.5 + seq,
        input_tokens=seq,
        output_tokens=2 * seq,
        cost_usd=0.001 * seq,
        payload=payload,
    )


@dataclass
class Backend:
    """One database, and a way to open as many stores on it as a test needs."""

    name: str
    factory: Callable[[], RunStore]
    raw: Callable[[str], list[tuple[Any, ...]]] = lambda sql: []
    location: str = ""
    opened: list[RunStore] = field(default_factory=list)

    def open(self) -> RunStore:
        """A new store on this backend's database (the same one for memory)."""
        store = self.factory()
        self.opened.append(store)
        return store
