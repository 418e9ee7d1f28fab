"""Storage faults are handled: waited for, retried, or reported as StoreError."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from store_kit import event, pg_admin, record

from podium import Agent, StopReason, StoreError
from podium.events import Event
from podium.store import RunRecord, SqliteStore, open_store
from podium.store._postgres import PostgresStore
from podium.testing import ScriptedModel


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


async def test_sqlite_lock_held_too_long_fails_a_group_after_one_timeout(tmp_path: Path) -> None:
    """Writes committed together wait busy_timeout once, not once each."""
    store = SqliteStore(tmp_path / "p.db", busy_timeout=0.1)
    try:
        for i in range(20):
            await store.create_run(record(f"r{i}"))
        other = _lock(tmp_path / "p.db")
        try:
            started = time.monotonic()
            group = [store.append_nowait([event(f"r{i}", 0)]) for i in range(20)]
            store.commit_soon()  # too many to commit inline: the writer takes them at once
            outcomes = await asyncio.wait_for(
                asyncio.gather(*(f for f in group if f is not None), return_exceptions=True), 10
            )
            waited = time.monotonic() - started
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert len(outcomes) == 20
        assert all(isinstance(o, StoreError) and "locked" in str(o) for o in outcomes)
        assert waited < 1.0  # one busy_timeout (0.1 s), not 20 of them
        await store.append([event("r0", 0)])  # the store carries on
    finally:
        await store.close()


class _TinySqliteStore(SqliteStore):
    """A store whose database may not grow: a full disk, simulated."""

    def _connect(self, busy_timeout: float | None = None) -> sqlite3.Connection:
        conn = super()._connect(busy_timeout)
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


async def test_sqlite_append_nowait_keeps_call_order_with_append(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "p.db")
    try:
        await store.create_run(record("r1"))
        first = store.append_nowait([event("r1", 0, text="a"), event("r1", 1, text="b")])
        assert first is not None
        await store.append([event("r1", 2, text="c")])  # queued behind the first
        assert first.done() and first.exception() is None
        assert [e.payload["text"] for e in await store.events("r1")] == ["a", "b", "c"]
    finally:
        await store.close()


async def test_sqlite_append_nowait_is_committed_soon_without_anyone_waiting(
    tmp_path: Path,
    read_committed: Any,
) -> None:
    store = SqliteStore(tmp_path / "p.db")
    try:
        await store.create_run(record("r1"))
        written = store.append_nowait([event("r1", 0), event("r1", 1)])
        assert written is not None
        deadline = time.monotonic() + 5
        while read_committed(tmp_path / "p.db", "r1", "seq") != [0, 1]:
            assert time.monotonic() < deadline, "a held-back write was never committed"
            await asyncio.sleep(0.01)
        assert written.done() or await written == 2
    finally:
        await store.close()


async def test_sqlite_commit_soon_and_close_write_held_back_appends(
    tmp_path: Path, read_committed: Any
) -> None:
    store = SqliteStore(tmp_path / "p.db")
    await store.create_run(record("r1"))
    first = store.append_nowait([event("r1", 0)])
    assert first is not None
    store.commit_soon()  # the writer has it now: done without the hold's timer
    await asyncio.wait_for(first, timeout=5)
    assert read_committed(tmp_path / "p.db", "r1", "seq") == [0]
    store.append_nowait([event("r1", 1)])
    await store.close()  # closing writes what was still held back
    assert read_committed(tmp_path / "p.db", "r1", "seq") == [0, 1]


async def test_sqlite_bad_write_after_held_ones_fails_alone(
    tmp_path: Path, read_committed: Any
) -> None:
    """The event loop commits small waited-for batches itself; a bad one falls back."""
    store = SqliteStore(tmp_path / "p.db")
    try:
        await store.create_run(record("r1"))
        held = store.append_nowait([event("r1", 0), event("r1", 1)])
        assert held is not None
        with pytest.raises(StoreError, match=r"already exists|UNIQUE"):
            await store.append([event("r1", 1)])  # the same seq again: rejected
        assert await held == 2  # the good batch before it is committed regardless
        await store.append([event("r1", 2)])
        assert read_committed(tmp_path / "p.db", "r1", "seq") == [0, 1, 2]
    finally:
        await store.close()


class _SlowWriter(SqliteStore):
    """Its writer thread takes 20 ms per commit: queued writes stay in flight."""

    def _commit(self, conn: sqlite3.Connection, work: list[Any]) -> None:
        time.sleep(0.02)
        super()._commit(conn, work)


async def test_sqlite_writes_stay_in_order_across_writer_and_event_loop(
    tmp_path: Path, read_committed: Any
) -> None:
    store = _SlowWriter(tmp_path / "p.db")
    try:
        await store.create_run(record("r1"))
        seq = 0
        for round_ in range(30):
            # some go to the writer thread when the hold ends, some are committed
            # by the event loop when awaited; the log must be gap-free at all times
            store.append_nowait([event("r1", seq)])
            seq += 1
            if round_ % 3 == 0:
                await asyncio.sleep(0.003)  # the hold ends: the writer takes it
            await store.append([event("r1", seq)])
            seq += 1
            committed = read_committed(tmp_path / "p.db", "r1", "seq")
            assert committed == list(range(seq)), committed
    finally:
        await store.close()


class _LosesOneBatch(SqliteStore):
    """Its first write handed over without waiting fails, as a failed commit would."""

    failed = False

    def append_nowait(self, events: Sequence[Event]) -> asyncio.Future[int] | None:
        if self.failed:
            return super().append_nowait(events)
        self.failed = True
        lost: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        lost.set_exception(StoreError("run store: write failed: disk I/O error"))
        return lost


async def test_a_run_whose_model_events_were_not_stored_ends_with_the_store_error(
    tmp_path: Path,
) -> None:
    """Model events go to the store without waiting; a failed write still fails the run."""
    store = _LosesOneBatch(tmp_path / "p.db")
    # the model takes a moment: the events before it are handed over meanwhile
    agent = Agent("solo", model=ScriptedModel(["the answer"], latency=0.05))
    try:
        result = await agent.run("hello", store=store)
        assert result.stop_reason is StopReason.ERROR and result.output is None
        assert "disk I/O error" in (result.error or "")
        recorded = await store.get_run(result.run_id)
        assert recorded is not None and recorded.status == "error"
        assert "disk I/O error" in (recorded.error or "")
    finally:
        await store.close()


class _CannotCreate(SqliteStore):
    """Creating a run handed over without waiting fails, as a failed commit would."""

    def create_run_leased_nowait(
        self, run: RunRecord, owner: str, ttl: float
    ) -> asyncio.Future[int] | None:
        if self._writer is None:
            return None
        lost: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        lost.set_exception(StoreError("run store: write failed: disk I/O error"))
        return lost


async def test_a_new_run_whose_creation_failed_ends_with_the_store_error(tmp_path: Path) -> None:
    store = _CannotCreate(tmp_path / "p.db")
    agent = Agent("solo", model=ScriptedModel(["one", "two"]))
    try:
        first = await agent.run("hello", store=store)  # the store opens: created with a wait
        assert first.ok
        second = await agent.run("hello", store=store)  # open: created without waiting
        assert second.stop_reason is StopReason.ERROR and "disk I/O error" in (second.error or "")
        recorded = await store.get_run(second.run_id)  # the end still records the run
        assert recorded is not None and recorded.status == "error"
    finally:
        await store.close()


def _grows_past(path: Path, size: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while path.stat().st_size <= size:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


async def test_sqlite_wal_starts_over_while_commits_keep_coming(tmp_path: Path) -> None:
    """Passive checkpoints alone let the WAL grow without end under steady commits."""
    path = tmp_path / "p.db"
    store = SqliteStore(path)
    wal = path.with_name("p.db-wal")
    try:
        await store.create_run(record("r1"))
        largest = 0
        for seq in range(4_000):  # one commit each: a WAL never reused reaches about 65 MB
            await store.append([event("r1", seq, text="x" * 3_000)])
            if seq % 50 == 0:
                largest = max(largest, wal.stat().st_size)
        assert len(await store.events("r1")) == 4_000
        # reused from its start after the writer thread's own checkpoint past
        # 4,000 pages (16 MB; the file keeps its largest size)
        assert largest < 24_000_000, f"the WAL reached {largest} bytes"
    finally:
        await store.close()


async def test_sqlite_copies_its_wal_back_while_open(tmp_path: Path) -> None:
    """Checkpoints run beside the writer: the database file grows, the WAL stays bounded."""
    path = tmp_path / "p.db"
    store = SqliteStore(path)
    try:
        await store.create_run(record("r1"))
        start = path.stat().st_size
        for seq in range(1_000):  # one commit each
            await store.append([event("r1", seq, text="x" * 200)])
        # the checkpointer works in its own thread: give it a moment
        grown = await asyncio.to_thread(_grows_past, path, start, 10.0)
        assert grown, f"{path} stayed at {start} bytes while open"
        assert len(await store.events("r1")) == 1_000
    finally:
        await store.close()
