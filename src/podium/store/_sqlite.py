"""The default run store: one SQLite file in WAL mode.

Writes go through one writer thread that commits everything queued at that
moment in a single transaction (group commit), so many concurrent runs share
fsyncs while each `append` still returns only after its events are committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from podium.errors import StoreError
from podium.events import Event, EventKind
from podium.store._base import RunRecord

__all__ = ["DEFAULT_PATH", "SCHEMA_VERSION", "SqliteStore"]

DEFAULT_PATH = Path(".podium") / "podium.db"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, name TEXT NOT NULL, task TEXT NOT NULL,
    status TEXT NOT NULL, created_at REAL NOT NULL, ended_at REAL,
    output TEXT, error TEXT, usage TEXT NOT NULL, model TEXT NOT NULL,
    offline INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created_at);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL, seq INTEGER NOT NULL, path TEXT NOT NULL,
    parent TEXT NOT NULL, agent TEXT NOT NULL, kind TEXT NOT NULL,
    started_at REAL NOT NULL, ended_at REAL NOT NULL,
    input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL, payload TEXT NOT NULL, v INTEGER NOT NULL,
    PRIMARY KEY (run_id, seq)
);
"""

_RUN_COLS = "run_id, name, task, status, created_at, ended_at, output, error, usage, model, offline"
_Op = Callable[[sqlite3.Connection], object]
_STOP = object()


def _run_row(run: RunRecord) -> tuple[Any, ...]:
    return (
        run.run_id,
        run.name,
        run.task,
        run.status,
        run.created_at,
        run.ended_at,
        run.output,
        run.error,
        json.dumps(run.usage),
        run.model,
        int(run.offline),
    )


def _run_from_row(row: Sequence[Any]) -> RunRecord:
    return RunRecord(
        run_id=row[0],
        name=row[1],
        task=row[2],
        status=row[3],
        created_at=row[4],
        ended_at=row[5],
        output=row[6],
        error=row[7],
        usage=json.loads(row[8]),
        model=row[9],
        offline=bool(row[10]),
    )


def _event_row(e: Event) -> tuple[Any, ...]:
    return (
        e.run_id,
        e.seq,
        e.path,
        e.parent,
        e.agent,
        str(e.kind),
        e.started_at,
        e.ended_at,
        e.input_tokens,
        e.output_tokens,
        e.cost_usd,
        _payload_text(e),
        e.v,
    )


def _payload_text(e: Event) -> str:
    text = e.payload_json()
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:  # lone surrogates (e.g. from decoded JSON): keep escaped
            text = json.dumps(e.payload, separators=(",", ":"), default=str)
    return text


class SqliteStore:
    """Run store in one SQLite file (default ``./.podium/podium.db``).

    Args:
        path: the database file; parent folders are created.
        busy_timeout: seconds to wait for a lock held by another process.
    """

    def __init__(self, path: str | Path = DEFAULT_PATH, *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._reader: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()
        self._start_lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # One statement at a time: executescript() would commit the open
            # transaction first, so the version check would run unlocked.
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            elif int(row[0]) > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by a newer podium (schema {row[0]}, "
                    f"this podium knows {SCHEMA_VERSION}); upgrade podium to read it"
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _ensure_started(self) -> None:
        if self._writer is not None:
            return
        with self._start_lock:
            if self._writer is not None:
                return
            conn: sqlite3.Connection | None = None
            try:
                conn = self._connect()
                self._migrate(conn)
            except (sqlite3.Error, StoreError) as exc:
                if conn is not None:
                    conn.close()
                if isinstance(exc, StoreError):
                    raise
                raise StoreError(f"cannot open run store {self.path}: {exc}") from exc
            self._reader = self._connect()
            thread = threading.Thread(
                target=self._write_loop, args=(conn,), name="podium-sqlite-writer", daemon=True
            )
            thread.start()
            self._writer = thread

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        while True:
            item = self._queue.get()
            batch = [item]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(entry is _STOP for entry in batch)
            work = [entry for entry in batch if entry is not _STOP]
            if work:
                self._commit(conn, work)
            if stop:
                conn.close()
                return

    def _commit(self, conn: sqlite3.Connection, work: list[Any]) -> None:
        try:
            _transaction(conn, [op for op, _, _ in work])
            errors: list[Exception | None] = [None] * len(work)
        except Exception as exc:
            # One bad write must not fail the others grouped with it, nor kill
            # this thread (every later write would then wait forever).
            if len(work) == 1:
                errors = [self._write_error(exc)]
            else:
                errors = []
                for op, _, _ in work:
                    try:
                        _transaction(conn, [op])
                        errors.append(None)
                    except Exception as one:
                        errors.append(self._write_error(one))
        for (_, fut, loop), error in zip(work, errors, strict=True):
            with contextlib.suppress(RuntimeError):  # that loop closed: nobody waits
                loop.call_soon_threadsafe(_settle, fut, error)

    def _write_error(self, exc: Exception) -> StoreError:
        return StoreError(f"run store {self.path}: write failed: {type(exc).__name__}: {exc}")

    async def _write(self, op: _Op) -> None:
        self._ensure_started()
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._queue.put((op, fut, loop))
        await fut

    async def _read(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        self._ensure_started()

        def call() -> Any:
            with self._read_lock:
                assert self._reader is not None
                try:
                    return fn(self._reader)
                except sqlite3.Error as exc:
                    raise StoreError(f"run store {self.path}: read failed: {exc}") from exc

        return await asyncio.to_thread(call)

    async def create_run(self, run: RunRecord) -> None:
        """Record a new run."""
        row = _run_row(run)
        await self._write(
            lambda c: c.execute(
                f"INSERT INTO runs ({_RUN_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", row
            )
        )

    async def append(self, events: Sequence[Event]) -> None:
        """Append events durably, all or none."""
        rows = [_event_row(e) for e in events]
        await self._write(
            lambda c: c.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        )

    async def finish_run(self, run: RunRecord) -> None:
        """Store the final state of `run`."""
        row = _run_row(run)
        await self._write(
            lambda c: c.execute(
                f"INSERT OR REPLACE INTO runs ({_RUN_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", row
            )
        )

    async def get_run(self, run_id: str) -> RunRecord | None:
        """The run with this id, or the only run whose id starts with it."""

        def q(c: sqlite3.Connection) -> RunRecord | None:
            row = c.execute(f"SELECT {_RUN_COLS} FROM runs WHERE run_id=?", (run_id,)).fetchone()
            if row is None:
                # substr, not LIKE: LIKE ignores case, and ids are case-sensitive
                rows = c.execute(
                    f"SELECT {_RUN_COLS} FROM runs WHERE substr(run_id, 1, ?) = ? LIMIT 2",
                    (len(run_id), run_id),
                ).fetchall()
                row = rows[0] if len(rows) == 1 else None
            return _run_from_row(row) if row is not None else None

        result: RunRecord | None = await self._read(q)
        return result

    async def list_runs(self, limit: int = 50) -> list[RunRecord]:
        """Newest runs first."""

        def q(c: sqlite3.Connection) -> list[RunRecord]:
            rows = c.execute(
                f"SELECT {_RUN_COLS} FROM runs ORDER BY created_at DESC LIMIT ?", (limit,)
            ).fetchall()
            return [_run_from_row(r) for r in rows]

        result: list[RunRecord] = await self._read(q)
        return result

    async def events(self, run_id: str) -> list[Event]:
        """Every event of a run, in order."""

        def q(c: sqlite3.Connection) -> list[Event]:
            rows = c.execute(
                "SELECT run_id, seq, path, parent, agent, kind, started_at, ended_at, "
                "input_tokens, output_tokens, cost_usd, payload, v FROM events "
                "WHERE run_id=? ORDER BY seq",
                (run_id,),
            ).fetchall()
            return [
                Event(
                    run_id=r[0],
                    seq=r[1],
                    path=r[2],
                    parent=r[3],
                    agent=r[4],
                    kind=EventKind(r[5]),
                    started_at=r[6],
                    ended_at=r[7],
                    input_tokens=r[8],
                    output_tokens=r[9],
                    cost_usd=r[10],
                    payload=json.loads(r[11]),
                    v=r[12],
                )
                for r in rows
            ]

        result: list[Event] = await self._read(q)
        return result

    async def close(self) -> None:
        """Flush pending writes and stop the writer thread."""
        writer = self._writer
        if writer is None:
            return
        self._queue.put(_STOP)
        await asyncio.to_thread(writer.join)
        self._writer = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None


def _transaction(conn: sqlite3.Connection, ops: list[_Op]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for op in ops:
            op(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _settle(fut: asyncio.Future[None], error: Exception | None) -> None:
    if fut.done():
        return
    if error is None:
        fut.set_result(None)
    else:
        fut.set_exception(error)
