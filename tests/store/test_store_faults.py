"""Storage faults are handled: waited for, retried, or reported as StoreError."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from store_kit import event, pg_admin, record

from podium import StoreError
from podium.store import SqliteStore, open_store
from podium.store._postgres import PostgresStore


def _lock(path: Path) -> sqlite3.Connection:
    """Another connection holding the write lock on `path` until it commits."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO meta VALUES ('held by', 'someone else')")
    return other


async def test_sqlite_waits_for_a_locked_file(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "p.db")
    try:
        await store.create_run(record("r1"))
        other = _lock(tmp_path / "p.db")
        asyncio.get_running_loop().call_later(0.5, other.execute, "COMMIT")
        started = time.monotonic()
        await store.append([event("r1", 0)])  # waits for the lock, then lands
        waited = time.monotonic() - started
        other.close()

        assert waited >= 0.4
        assert [e.seq for e in await store.events("r1")] == [0]
    finally:
        await store.close()


async def test_sqlite_lock_held_too_long_is_a_store_error(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "p.db", busy_timeout=0.1)
    try:
        await store.create_run(record("r1"))
        other = _lock(tmp_path / "p.db")
        try:
            with pytest.raises(StoreError, match=r"database is locked.*longer than 0.1 s"):
                await store.append([event("r1", 0)])
        finally:
            other.execute("ROLLBACK")
            other.close()
        await store.append([event("r1", 0)])  # the store carries on
        assert len(await store.events("r1")) == 1
    finally:
        await store.close()


class _TinySqliteStore(SqliteStore):
    """A store whose database may not grow: a full disk, simulated."""

    def _connect(self) -> sqlite3.Connection:
        conn = super()._connect()
        conn.execute("PRAGMA max_page_count=1")  # clamped to the current size
        return conn


async def test_sqlite_full_disk_is_a_clear_store_error(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    setup = SqliteStore(path)
    await setup.create_run(record("r1"))
    await setup.append([event("r1", 0, text="kept")])
    await setup.close()

    store = _TinySqliteStore(path)
    try:
        with pytest.raises(StoreError, match=r"database or disk is full.*free disk space"):
            await store.append([event("r1", 1, text="x" * 100_000)])
        events = await store.events("r1")
        assert [(e.seq, e.payload) for e in events] == [(0, {"text": "kept"})]
    finally:
        await store.close()


async def test_postgres_reconnects_after_its_connection_is_killed(pg_url: str) -> None:
    store = PostgresStore(pg_url, pool_size=2)
    try:
        await store.create_run(record("r1"))
        await store.append([event("r1", 0)])
        app = pg_url.rsplit("application_name=", 1)[1]
        killed = pg_admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            [app],
        )
        assert killed and all(ok for (ok,) in killed)

        await store.append([event("r1", 1)])
        assert [e.seq for e in await store.events("r1")] == [0, 1]
        pg_admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            [app],
        )
        run = await store.get_run("r1")  # a read reconnects too
        assert run is not None and run.run_id == "r1"
    finally:
        await store.close()


async def test_postgres_unreachable_is_a_store_error_without_the_password() -> None:
    store = PostgresStore("postgresql://podium:s3cret@127.0.0.1:1/podium", connect_timeout=2)
    try:
        with pytest.raises(StoreError, match="cannot open run store") as caught:
            await store.list_runs()
        assert "s3cret" not in str(caught.value)
        assert "s3cret" not in repr(store)
    finally:
        await store.close()


async def test_open_store_selects_postgres_by_url(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PODIUM_STORE", pg_url)
    store = open_store()
    try:
        assert isinstance(store, PostgresStore)
        await store.create_run(record("r1"))
        other = open_store(pg_url)
        assert [r.run_id for r in await other.list_runs()] == ["r1"]
        await other.close()
    finally:
        await store.close()
    assert isinstance(open_store("postgres://u@h/db"), PostgresStore)
