"""Schema versions: old stores are migrated in place and read back unchanged."""

from __future__ import annotations

import asyncio
import json
import runpy
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
from store_kit import Backend, event

from podium import Event, EventKind, SqliteStore
from podium.store import SCHEMA_VERSION, RunRecord
from podium.store._postgres import PostgresStore
from podium.store._sql import MIGRATIONS, POSTGRES

FIXTURES = Path(__file__).with_name("fixtures")
V1: dict[str, Any] = runpy.run_path(str(FIXTURES / "make_store_v1.py"))


def _v1_runs(postgres: bool = False) -> list[tuple[Any, ...]]:
    if not postgres:
        return list(V1["RUNS"])
    # PostgreSQL text cannot hold the NUL that a v1 SQLite file may
    return [(r[0], r[1], r[2].replace("\x00", ""), *r[3:]) for r in V1["RUNS"]]


def _expected_runs(postgres: bool) -> list[RunRecord]:
    fields = "run_id name task status created_at ended_at output error usage model offline"
    return [RunRecord(**dict(zip(fields.split(), r, strict=True))) for r in _v1_runs(postgres)]


def _expected_events(run_id: str) -> list[Event]:
    fields = (
        "run_id seq path parent agent kind started_at ended_at "
        "input_tokens output_tokens cost_usd payload v"
    )
    events = [Event(**dict(zip(fields.split(), row, strict=True))) for row in V1["EVENTS"]]
    for e in events:
        e.kind = EventKind(e.kind)
    return [e for e in events if e.run_id == run_id]


async def _reads_the_v1_runs_unchanged(store: SqliteStore | PostgresStore) -> None:
    runs = _expected_runs(isinstance(store, PostgresStore))
    assert await store.list_runs() == sorted(runs, key=lambda r: -r.created_at)
    for run in runs:
        assert await store.get_run(run.run_id) == run
        assert await store.events(run.run_id) == _expected_events(run.run_id)
    # and what v2 added works on the migrated database
    assert await store.acquire_lease(runs[1].run_id, "resumer", ttl=30)
    await store.append([event(runs[1].run_id, 1, text="resumed")])
    assert len(await store.events(runs[1].run_id)) == 2


async def test_a_v1_sqlite_file_is_migrated_and_reads_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "podium.db"
    shutil.copy(FIXTURES / "store_v1.db", path)

    store = SqliteStore(path)
    try:
        await _reads_the_v1_runs_unchanged(store)
    finally:
        await store.close()

    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT value FROM meta").fetchall() == [(str(SCHEMA_VERSION),)]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"meta", "runs", "events", "leases"} <= tables
    finally:
        conn.close()


async def test_a_v1_postgres_schema_is_migrated_and_reads_unchanged(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:  # what schema v1 left behind
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        for statement in MIGRATIONS[0]:
            conn.execute(POSTGRES.sql(statement).encode())
        conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        for r in _v1_runs(postgres=True):
            conn.execute(
                "INSERT INTO runs VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                (*r[:8], json.dumps(r[8]), r[9], int(r[10])),
            )
        for e in V1["EVENTS"]:
            payload = json.dumps(e[11], separators=(",", ":"))
            conn.execute(
                "INSERT INTO events VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                (*e[:11], payload, e[12]),
            )

    store = PostgresStore(pg_url)
    try:
        await _reads_the_v1_runs_unchanged(store)
    finally:
        await store.close()
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT value FROM meta").fetchall() == [(str(SCHEMA_VERSION),)]


async def test_a_new_database_starts_at_the_current_version(sql_backend: Backend) -> None:
    stores = [sql_backend.open() for _ in range(4)]
    # concurrent first opens migrate once, without tripping over each other
    await asyncio.gather(*(s.list_runs() for s in stores))
    assert sql_backend.raw("SELECT key, value FROM meta") == [
        ("schema_version", str(SCHEMA_VERSION))
    ]
    assert sql_backend.raw("SELECT count(*) FROM leases") == [(0,)]


async def test_many_processes_opening_a_new_sqlite_file_at_once(tmp_path: Path) -> None:
    # switching a new file to WAL used to fail at once with "database is locked"
    # now and then (a race: repeated to catch it)
    for attempt in range(20):
        stores = [SqliteStore(tmp_path / f"p{attempt}.db") for _ in range(8)]
        try:
            await asyncio.gather(*(s.acquire_lease("r", f"o{i}", 30) for i, s in enumerate(stores)))
        finally:
            for s in stores:
                await s.close()
