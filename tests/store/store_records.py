"""Runs and events to write in the store tests."""

from __future__ import annotations

from typing import Any

from podium import Event, EventKind
from podium.store import RunRecord


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
