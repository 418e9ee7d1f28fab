"""The default run store: one SQLite file in WAL mode.

Writes go through one writer thread that commits everything queued at that
moment in a single transaction (group commit), so many concurrent runs share
fsyncs while each `append` still returns only after its events are committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from podium.errors import StoreError
from podium.events import Event
from podium.store._base import RunRecord
from podium.store._sql import (
    GET_VERSION,
    META_DDL,
    SCHEMA_VERSION,
    SET_VERSION,
    SQLITE,
    SqlStore,
    Stmt,
    append_stmt,
    create_leased_stmts,
    migration_steps,
)

__all__ = ["DEFAULT_PATH", "SCHEMA_VERSION", "SqliteStore"]

DEFAULT_PATH = Path(".podium") / "podium.db"

_STOP = object()
#: Longest time a write handed over without waiting is held back before the
#: writer thread sees it; writes arriving meanwhile wake the writer once.
_HOLD_SECONDS = 0.002
#: Commits between passive checkpoints (each commit adds a few WAL pages).
_CHECKPOINT_EVERY = 200
#: WAL pages at which the writer checkpoints itself, should the checkpointer lag.
_WRITER_CHECKPOINT_PAGES = 4_000
_Op = Callable[[sqlite3.Connection], Any]
# one queued write: its statements, and the future (on its loop) to settle
_Work = tuple[tuple[Stmt, ...], "asyncio.Future[int]", asyncio.AbstractEventLoop]


class SqliteStore(SqlStore):
    """Run store in one SQLite file (default ``./.podium/podium.db``).

    Args:
        path: the database file; parent folders are created.
        busy_timeout: seconds to wait for a lock held by another process
            before a write fails with `StoreError`.
    """

    #: appends complete in call order and survive the caller's cancellation (the
    #: recorder relies on it for a cheaper flush)
    ordered_appends = True

    async def append(self, events: Sequence[Event]) -> None:
        """Append events durably, all or none (queued in call order, then committed)."""
        await super().append(events)

    def append_nowait(self, events: Sequence[Event]) -> asyncio.Future[int] | None:
        """Queue an `append` behind every write queued so far, without waiting.

        The returned future is done once the events are committed (or holds the
        error). None when the store is not open yet: then use `append`. The
        write may be held back for about 2 ms so that writes arriving together
        wake the writer thread once; `commit_soon` ends the wait.
        """
        if self._writer is None or not events:
            return None
        return self._hold(append_stmt(events))

    def create_run_leased_nowait(
        self, run: RunRecord, owner: str, ttl: float
    ) -> asyncio.Future[int] | None:
        """Queue `create_run_leased` without waiting (for a run id nobody else can hold).

        The future's result is 1 once the run and its lease are committed. None
        when the store is not open yet: then use `create_run_leased`.
        """
        if self._writer is None:
            return None
        return self._hold(*create_leased_stmts(run, owner, ttl))

    def commit_soon(self) -> None:
        """Hand the writes this event loop held back to the writer thread now."""
        self._release(asyncio.get_running_loop())

    def _hold(self, *stmts: Stmt) -> asyncio.Future[int]:
        """A write queued when the hold ends (or earlier), behind this loop's others."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()
        held = self._held.get(loop)
        if held is None:
            timer = loop.call_later(_HOLD_SECONDS, self._release, loop, False)
            held = self._held[loop] = ([], timer)
        held[0].append((stmts, fut, loop))
        return fut

    def _release(self, loop: asyncio.AbstractEventLoop, cancel: bool = True) -> None:
        held = self._held.pop(loop, None)
        if held is None:
            return
        work, timer = held
        if cancel:
            timer.cancel()
        for item in work:
            self._queue.put(item)

    def _put(self, *stmts: Stmt) -> asyncio.Future[int]:
        loop = asyncio.get_running_loop()
        if self._held:  # writes held back by this loop go first: appends stay in order
            self._release(loop)
        fut: asyncio.Future[int] = loop.create_future()
        self._queue.put((stmts, fut, loop))
        return fut

    dialect = SQLITE

    def __init__(self, path: str | Path = DEFAULT_PATH, *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._reader: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._checkpointer: _Checkpointer | None = None
        # writes handed over without waiting, held back per event loop (see `_hold`)
        self._held: dict[asyncio.AbstractEventLoop, tuple[list[_Work], asyncio.TimerHandle]] = {}

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
            self._set_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _set_wal(self, conn: sqlite3.Connection) -> None:
        # Switching a new file to WAL while another process does the same can
        # fail at once with "locked" (SQLite skips the busy handler to avoid a
        # deadlock), so wait here as busy_timeout promises.
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.005)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        def migrate(c: sqlite3.Connection) -> None:
            # One statement at a time: executescript() would commit the open
            # transaction first, so the version check would run unlocked.
            c.execute(META_DDL)
            row = c.execute(GET_VERSION).fetchone()
            steps = migration_steps(SQLITE, row[0] if row else None, str(self.path))
            for statement in steps:
                c.execute(statement)
            if steps or row is None:
                c.execute(SET_VERSION, (str(SCHEMA_VERSION),))

        _transaction(conn, [migrate])

    def _start(self) -> None:
        with self._start_lock:
            if self._writer is not None:
                return
            conn: sqlite3.Connection | None = None
            try:
                conn = self._connect()
                self._migrate(conn)
                # the checkpointer thread copies the WAL back; the writer only if it lags
                conn.execute(f"PRAGMA wal_autocheckpoint={_WRITER_CHECKPOINT_PAGES}")
                self._reader = self._connect()
                self._checkpointer = _Checkpointer(self._connect())
            except (sqlite3.Error, StoreError) as exc:
                if conn is not None:
                    conn.close()
                if self._reader is not None:
                    self._reader.close()
                    self._reader = None
                if isinstance(exc, StoreError):
                    raise
                raise StoreError(f"cannot open run store {self.path}: {exc}") from exc
            thread = threading.Thread(
                target=self._write_loop, args=(conn,), name="podium-sqlite-writer", daemon=True
            )
            thread.start()
            self._writer = thread

    async def _ensure_started(self) -> None:
        if self._writer is None:  # opening may wait for a lock: not on the event loop
            await asyncio.to_thread(self._start)

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        commits = 0
        while True:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            work: list[_Work] = [entry for entry in batch if entry is not _STOP]
            if work:
                self._commit(conn, work)
                commits += 1
                if commits % _CHECKPOINT_EVERY == 0 and self._checkpointer is not None:
                    self._checkpointer.due.set()
            if len(work) < len(batch):
                conn.close()
                return

    def _commit(self, conn: sqlite3.Connection, work: list[_Work]) -> None:
        outcomes: list[int | Exception]
        try:
            outcomes = list(_transaction(conn, [_runner(stmts) for stmts, _, _ in work]))
        except Exception as exc:
            # One bad write must not fail the others grouped with it, nor kill
            # this thread (every later write would then wait forever).
            if len(work) == 1:
                outcomes = [self._write_error(exc)]
            else:
                outcomes = []
                for stmts, _, _ in work:
                    try:
                        outcomes.extend(_transaction(conn, [_runner(stmts)]))
                    except Exception as one:
                        outcomes.append(self._write_error(one))
        # one wake-up per event loop for the whole group, not one per write
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, int | Exception]]] = {}
        for (_, fut, loop), outcome in zip(work, outcomes, strict=True):
            by_loop.setdefault(loop, []).append((fut, outcome))
        for loop, settled in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop closed: nobody waits
                loop.call_soon_threadsafe(_settle_all, settled)

    def _write_error(self, exc: Exception) -> StoreError:
        message = str(exc)
        if "full" in message:
            message += " (free disk space, or raise the database's size limit)"
        elif "locked" in message:
            message += f" (another connection held it longer than {self.busy_timeout:g} s)"
        if not isinstance(exc, sqlite3.Error):
            message = f"{type(exc).__name__}: {message}"
        return StoreError(f"run store {self.path}: write failed: {message}")

    async def _write(self, *stmts: Stmt) -> int:
        await self._ensure_started()
        return await self._put(*stmts)

    async def _fetch(self, stmt: Stmt) -> list[tuple[Any, ...]]:
        await self._ensure_started()

        def call() -> list[tuple[Any, ...]]:
            with self._read_lock:
                assert self._reader is not None
                try:
                    return self._reader.execute(SQLITE.sql(stmt.sql), stmt.params).fetchall()
                except sqlite3.Error as exc:
                    raise StoreError(f"run store {self.path}: read failed: {exc}") from exc

        return await asyncio.to_thread(call)

    async def close(self) -> None:
        """Flush pending writes and stop the writer thread."""
        writer = self._writer
        if writer is None:
            return
        for loop in list(self._held):  # held writes are written before the writer stops
            self._release(loop, cancel=loop is asyncio.get_running_loop())
        self._queue.put(_STOP)
        await asyncio.to_thread(writer.join)
        self._writer = None
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.stop)
            self._checkpointer = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None


class _Checkpointer:
    """Copies the WAL back into the database file from a thread of its own.

    SQLite would do it inside a commit (every 1,000 pages, with an fsync); here
    it runs beside the writer, so commits do not wait for it. A passive
    checkpoint never blocks the writer or readers.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.due = threading.Event()
        self.stopping = False
        self.thread = threading.Thread(
            target=self._loop, name="podium-sqlite-checkpoint", daemon=True
        )
        self.thread.start()

    def _loop(self) -> None:
        while True:
            self.due.wait()
            self.due.clear()
            if self.stopping:
                self.conn.close()
                return
            with contextlib.suppress(sqlite3.Error):  # busy: the next one catches up
                self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def stop(self) -> None:
        self.stopping = True
        self.due.set()
        self.thread.join()


def _runner(stmts: tuple[Stmt, ...]) -> _Op:
    def run(conn: sqlite3.Connection) -> int:
        count = 0
        for stmt in stmts:
            sql = SQLITE.sql(stmt.sql)
            cur = (
                conn.executemany(sql, stmt.params) if stmt.many else conn.execute(sql, stmt.params)
            )
            count = cur.rowcount
        return count

    return run


def _transaction(conn: sqlite3.Connection, ops: list[_Op]) -> list[Any]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        results = [op(conn) for op in ops]
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return results


def _settle(fut: asyncio.Future[int], outcome: int | Exception) -> None:
    if fut.done():
        return
    if isinstance(outcome, Exception):
        fut.set_exception(outcome)
    else:
        fut.set_result(outcome)


def _settle_all(settled: list[tuple[Any, int | Exception]]) -> None:
    for fut, outcome in settled:
        _settle(fut, outcome)
