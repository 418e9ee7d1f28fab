"""The default run store: one SQLite file in WAL mode.

Writes go through one writer thread that commits everything queued at that
moment in a single transaction (group commit), so many concurrent runs share
fsyncs while each `append` still returns only after its events are committed.
A small write someone waits for while that thread is idle is committed by the
event loop itself, on a connection that never waits for a lock (see
`_commit_inline`).
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
#: Rows the event loop commits itself when the writer thread is idle and someone
#: waits (more go to the writer thread, so the loop is never blocked for long).
_INLINE_ROWS = 128
#: Commits between passive checkpoints (each commit adds a few WAL pages).
_CHECKPOINT_EVERY = 50
#: WAL pages at which the writer thread checkpoints itself after a commit. Its
#: own checkpoint completes (nobody else writes meanwhile), so the WAL then
#: starts over; passive ones beside busy writers rarely catch up completely.
_WRITER_CHECKPOINT_PAGES = 4_000
#: Every this many writes the event loop would commit itself, one goes to the
#: writer thread anyway, so that the writer's checkpoint keeps the WAL bounded
#: (the event loop's connection never checkpoints: that would stall the loop).
_THREAD_EVERY = 50
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
        """Write the writes this event loop held back now: someone waits for them.

        When the writer thread is idle and they are few, the event loop commits
        them itself (no thread hand-off); otherwise they go to the writer.
        """
        loop = asyncio.get_running_loop()
        held = self._held.get(loop)
        if held is not None and not self._commit_inline(loop, held[0]):
            self._release(loop)

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
        self._enqueue(work)

    def _enqueue(self, work: list[_Work]) -> None:
        with self._count_lock:  # queued before `close` sends _STOP, or refused
            if self._stopping:
                _refuse(work, self.path)
                return
            self._queued += len(work)
            for item in work:
                self._queue.put(item)

    def _put(self, *stmts: Stmt) -> asyncio.Future[int]:
        """A write someone waits for: behind this loop's held writes, committed now."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()
        held = self._held.get(loop)
        work = [*held[0], (stmts, fut, loop)] if held is not None else [(stmts, fut, loop)]
        if self._commit_inline(loop, work):
            return fut
        self._release(loop)  # held writes go first: appends stay in order
        self._enqueue([(stmts, fut, loop)])
        return fut

    def _commit_inline(self, loop: asyncio.AbstractEventLoop, work: list[_Work]) -> bool:
        """Commit `work` (this loop's held writes first) on the event loop, if cheap.

        Only when the writer thread has nothing queued or in progress (so every
        earlier write is committed and order holds), the batch is small, and the
        database is not locked by anyone else: the inline connection never waits
        for a lock. Returns False, having written nothing, when it cannot.
        """
        conn = self._inline
        if conn is None or self._queued or _rows(work) > _INLINE_ROWS:
            return False
        self._inline_turns += 1
        if self._inline_turns % _THREAD_EVERY == 0:
            return False  # the writer's turn: its commit checkpoints a large WAL
        if not self._inline_lock.acquire(blocking=False):
            return False  # another event loop is using it
        try:
            counts = _transaction(conn, [_runner(stmts) for stmts, _, _ in work])
        except Exception:  # busy, or a bad write: the writer retries and reports
            return False
        finally:
            self._inline_lock.release()
        held = self._held.pop(loop, None)
        if held is not None:
            held[1].cancel()
        for (_, fut, _), count in zip(work, counts, strict=True):
            _settle(fut, count)
        self._committed()
        return True

    def _committed(self) -> None:
        """Count a commit; every `_CHECKPOINT_EVERY` the checkpointer copies the WAL back."""
        with self._count_lock:
            self._commits += 1
            due = self._commits % _CHECKPOINT_EVERY == 0
        if due and self._checkpointer is not None:
            self._checkpointer.due.set()

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
        # the event loop's own connection for small writes while the writer is idle
        self._inline: sqlite3.Connection | None = None
        self._inline_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._queued = 0  # writes queued to the writer thread and not yet committed
        self._inline_turns = 0
        # the writer thread's commits (which may checkpoint) and the checkpointer's
        # passive checkpoints take turns: two at once would make one give up
        self._checkpoint_lock = threading.Lock()
        self._commits = 0
        # set (under _count_lock) once `close` has sent _STOP: the writer takes no more
        self._stopping = False
        # set while `close` tears the open store down; `_start` waits for it
        self._teardown: threading.Event | None = None

    def _connect(self, busy_timeout: float | None = None) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        wait = self.busy_timeout if busy_timeout is None else busy_timeout
        conn = sqlite3.connect(
            self.path, timeout=wait, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
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
            if self._teardown is not None:  # a close in progress: open afresh after it
                self._teardown.wait()
            conn: sqlite3.Connection | None = None
            try:
                conn = self._connect()
                self._migrate(conn)
                # the checkpointer thread copies the WAL back; the writer only if it lags
                conn.execute(f"PRAGMA wal_autocheckpoint={_WRITER_CHECKPOINT_PAGES}")
                self._reader = self._connect()
                self._inline = self._connect(busy_timeout=0)
                self._inline.execute("PRAGMA wal_autocheckpoint=0")
                self._checkpointer = _Checkpointer(self._connect(), self._checkpoint_lock)
            except (sqlite3.Error, OSError, StoreError) as exc:  # OSError: no directory
                if conn is not None:
                    conn.close()
                for other in (self._reader, self._inline):
                    if other is not None:
                        other.close()
                self._reader = self._inline = None
                if isinstance(exc, StoreError):
                    raise
                raise StoreError(f"cannot open run store {self.path}: {exc}") from exc
            thread = threading.Thread(
                target=self._write_loop, args=(conn,), name="podium-sqlite-writer", daemon=True
            )
            with self._count_lock:
                self._stopping = False
            thread.start()
            self._writer = thread

    async def _ensure_started(self) -> None:
        while self._writer is None:  # opening may wait for a lock: not on the event loop
            await asyncio.to_thread(self._start)  # (again if a close came meanwhile)

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        while True:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            work: list[_Work] = [entry for entry in batch if entry is not _STOP]
            if work:
                with self._checkpoint_lock:  # its own checkpoint must not meet the other
                    self._commit(conn, work)
                with self._count_lock:
                    self._queued -= len(work)
                self._committed()
            if len(work) < len(batch):
                conn.close()
                return

    def _commit(self, conn: sqlite3.Connection, work: list[_Work]) -> None:
        outcomes: list[int | Exception]
        try:
            outcomes = list(_transaction(conn, [_runner(stmts) for stmts, _, _ in work]))
        except Exception as exc:
            # One bad write must not fail the others grouped with it, nor kill
            # this thread (every later write would then wait forever). A lock held
            # past busy_timeout is no write's fault: retried one by one, each would
            # wait busy_timeout again, and the group would fail only after n of them.
            if len(work) == 1 or _busy(exc):
                outcomes = [self._write_error(exc) for _ in work]
            else:
                outcomes = []
                for stmts, _, _ in work:
                    try:
                        outcomes.extend(_transaction(conn, [_runner(stmts)]))
                    except Exception as one:
                        outcomes.append(self._write_error(one))
        _deliver(work, outcomes)

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
                if self._reader is None:
                    raise StoreError(f"run store {self.path}: read failed: the store was closed")
                try:
                    return self._reader.execute(SQLITE.sql(stmt.sql), stmt.params).fetchall()
                except sqlite3.Error as exc:
                    raise StoreError(f"run store {self.path}: read failed: {exc}") from exc

        return await asyncio.to_thread(call)

    async def close(self) -> None:
        """Flush pending writes and stop the writer thread.

        Writes queued so far are committed first. An operation started after
        `close` began opens the store again, once the close is done.
        """
        writer = self._writer
        if writer is None:
            if self._teardown is not None:  # another close is tearing it down
                await asyncio.to_thread(self._teardown.wait)
            return
        # Marked closed before anything else: this loop's later writes reopen the
        # store (after the teardown) instead of queueing behind _STOP, unseen.
        teardown = self._teardown = threading.Event()
        self._writer = None
        for loop in list(self._held):  # held writes are written before the writer stops
            self._release(loop, cancel=loop is asyncio.get_running_loop())
        with self._count_lock:
            self._stopping = True
            self._queue.put(_STOP)
        await asyncio.to_thread(self._shut, writer, teardown)

    def _shut(self, writer: threading.Thread, teardown: threading.Event) -> None:
        """Wait for the writer to commit what was queued, then close every connection."""
        try:
            writer.join()
            with self._inline_lock:
                if self._inline is not None:
                    self._inline.close()
                    self._inline = None
            if self._checkpointer is not None:
                self._checkpointer.stop()
                self._checkpointer = None
            with self._read_lock:
                if self._reader is not None:
                    self._reader.close()
                    self._reader = None
        finally:
            teardown.set()


class _Checkpointer:
    """Copies the WAL back into the database file from a thread of its own.

    SQLite would do it inside a commit (every 1,000 pages, with an fsync); here
    it runs beside the writers, so commits do not wait for it. A passive
    checkpoint never blocks writers or readers.
    """

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock) -> None:
        self.conn = conn
        self.lock = lock
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
            with self.lock, contextlib.suppress(sqlite3.Error):  # busy: the next one catches up
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


def _busy(exc: Exception) -> bool:
    """True when `exc` is SQLite's "database is locked" (busy, or locked)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _rows(work: list[_Work]) -> int:
    """Rows the writes in `work` insert or change, about."""
    return sum(len(stmt.params) if stmt.many else 1 for stmts, _, _ in work for stmt in stmts)


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


def _refuse(work: list[_Work], path: Path) -> None:
    """Fail writes that came after `close` stopped the writer (from another thread)."""
    message = f"run store {path}: write failed: the store was closed meanwhile"
    _deliver(work, [StoreError(message)] * len(work))


def _deliver(work: list[_Work], outcomes: Sequence[int | Exception]) -> None:
    """Settle each write's future on its own event loop: one wake-up per loop, not per write."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, int | Exception]]] = {}
    for (_, fut, loop), outcome in zip(work, outcomes, strict=True):
        by_loop.setdefault(loop, []).append((fut, outcome))
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop closed: nobody waits
            loop.call_soon_threadsafe(_settle_all, settled)


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
