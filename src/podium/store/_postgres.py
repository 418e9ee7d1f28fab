"""The PostgreSQL run store, for runs shared by many processes or machines.

Needs the ``postgres`` extra (psycopg 3 and its pool). The connections live on
an event loop in a private thread, so one store works from any caller's loop,
as `SqliteStore` does (``run_sync`` starts a new loop for every run).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
from psycopg_pool import AsyncConnectionPool

from podium.errors import StoreError
from podium.store._sql import (
    GET_VERSION,
    META_DDL,
    POSTGRES,
    SCHEMA_VERSION,
    SET_VERSION,
    SqlStore,
    Stmt,
    migration_steps,
)

__all__ = ["PostgresStore"]

_T = TypeVar("_T")
if TYPE_CHECKING:
    _Pool = AsyncConnectionPool[psycopg.AsyncConnection[Any]]
# concurrent openers (processes) migrate one at a time, per schema
_MIGRATE_LOCK = (
    "SELECT pg_advisory_xact_lock(hashtext('podium.migrate.' || coalesce(current_schema(), '')))"
)


class _Broken(Exception):
    """The connection died; `committing` when it died during COMMIT (outcome unknown)."""

    def __init__(self, committing: bool) -> None:
        self.committing = committing


class _LoopThread:
    """An event loop running in a daemon thread, with the pool that lives on it."""

    def __init__(self) -> None:
        self.loop = asyncio.SelectorEventLoop()  # psycopg needs a selector loop on Windows
        self.open_lock = asyncio.Lock()
        self.pool: _Pool | None = None
        # operations submitted and not yet done: `close` lets them finish first
        self.active: set[concurrent.futures.Future[Any]] = set()
        self.thread = threading.Thread(target=self.loop.run_forever, name="podium-postgres")
        self.thread.daemon = True
        self.thread.start()

    def submit(self, coro: Coroutine[Any, Any, _T]) -> concurrent.futures.Future[_T]:
        done = asyncio.run_coroutine_threadsafe(coro, self.loop)
        self.active.add(done)
        done.add_done_callback(self.active.discard)
        return done

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


class PostgresStore(SqlStore):
    """Run store in a PostgreSQL database (tables are created on first use).

    A connection that dies (server restart, ``pg_terminate_backend``) is
    replaced on the next operation; a write whose COMMIT was cut off fails
    with `StoreError`, since it may or may not have landed.

    Args:
        url: a libpq URL, e.g. ``postgresql://user:secret@db:5432/podium``; to use a
            schema other than ``public``, add ``?options=-csearch_path%3Dmyschema``.
        pool_size: the most connections this store opens.
        connect_timeout: seconds to wait for a connection before `StoreError`.
    """

    dialect = POSTGRES

    def __init__(self, url: str, *, pool_size: int = 10, connect_timeout: float = 10.0) -> None:
        self.url = url
        self.pool_size = pool_size
        self.connect_timeout = connect_timeout
        self._where = _redact(url)
        self._runner: _LoopThread | None = None
        self._start_lock = threading.Lock()

    def __repr__(self) -> str:  # never shows the password
        return f"PostgresStore({self._where!r})"

    async def _call(self, op: Callable[[_Pool], Awaitable[_T]], verb: str) -> _T:
        with self._start_lock:  # submitted under the lock: `close` sees every operation
            if self._runner is None:
                self._runner = _LoopThread()
            done = self._runner.submit(self._guarded(self._runner, op, verb))
        return await asyncio.wrap_future(done)

    async def _guarded(
        self, runner: _LoopThread, op: Callable[[_Pool], Awaitable[_T]], verb: str
    ) -> _T:
        try:
            pool = await self._open(runner)
            try:
                return await op(pool)
            except _Broken as broken:
                if broken.committing:
                    raise StoreError(
                        f"run store {self._where}: connection lost while committing; "
                        "the write may or may not have been stored"
                    ) from broken.__cause__
                await pool.check()  # drop the other dead connections, then retry once
                return await op(pool)
        except _Broken as broken:
            raise StoreError(
                f"run store {self._where}: {verb} failed: connection lost: {broken.__cause__}"
            ) from broken.__cause__
        except (psycopg.Error, ValueError) as exc:
            raise StoreError(f"run store {self._where}: {verb} failed: {exc}") from exc

    async def _open(self, runner: _LoopThread) -> _Pool:
        async with runner.open_lock:
            if runner.pool is not None:
                return runner.pool
            timeout = max(2, round(self.connect_timeout))
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, connect_timeout=timeout
                )
                async with conn:
                    await self._migrate(conn)
            except psycopg.Error as exc:
                raise StoreError(f"cannot open run store {self._where}: {exc}") from exc
            pool: _Pool = AsyncConnectionPool(
                self.url,
                kwargs={"autocommit": True, "connect_timeout": timeout},
                min_size=1,
                max_size=self.pool_size,
                timeout=self.connect_timeout,
                open=False,
                name="podium",
            )
            await pool.open()
            runner.pool = pool
            return pool

    async def _migrate(self, conn: psycopg.AsyncConnection[Any]) -> None:
        async with conn.transaction():
            await conn.execute(_MIGRATE_LOCK)
            await conn.execute(META_DDL)
            row = await (await conn.execute(GET_VERSION)).fetchone()
            steps = migration_steps(POSTGRES, row[0] if row else None, self._where)
            for statement in steps:
                await conn.execute(statement)
            if steps or row is None:
                await conn.execute(POSTGRES.sql(SET_VERSION), [str(SCHEMA_VERSION)])

    async def _write(self, *stmts: Stmt) -> int:
        async def op(pool: _Pool) -> int:
            async with pool.connection() as conn:
                committing = False
                try:
                    async with conn.transaction():
                        count = 0
                        async with conn.cursor() as cur:
                            for stmt in stmts:
                                sql: Any = POSTGRES.sql(stmt.sql)
                                if stmt.many:
                                    await cur.executemany(sql, stmt.params)
                                else:
                                    await cur.execute(sql, stmt.params)
                                count = cur.rowcount
                        committing = True
                except psycopg.OperationalError as exc:
                    if conn.broken:
                        raise _Broken(committing) from exc
                    raise
                return count

        return await self._call(op, "write")

    async def _fetch(self, stmt: Stmt) -> list[tuple[Any, ...]]:
        async def op(pool: _Pool) -> list[tuple[Any, ...]]:
            async with pool.connection() as conn:
                try:
                    cur = await conn.execute(POSTGRES.sql(stmt.sql), stmt.params)
                    return await cur.fetchall()
                except psycopg.OperationalError as exc:
                    if conn.broken:
                        raise _Broken(False) from exc
                    raise

        return await self._call(op, "read")

    async def close(self) -> None:
        """Close the connections and stop the store's thread.

        Operations already started finish first; one started after `close` began
        opens the store again.
        """
        with self._start_lock:
            runner, self._runner = self._runner, None
            active = set(runner.active) if runner is not None else set()
        if runner is None:
            return
        if active:  # waited for in a thread: cancelling close must not cancel them
            await asyncio.to_thread(concurrent.futures.wait, active)
        if runner.pool is not None:
            await asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(runner.pool.close(), runner.loop)
            )
        await asyncio.to_thread(runner.stop)


def _redact(url: str) -> str:
    url = re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", url)
    return re.sub(r"(password=)[^&\s]*", r"\1***", url)
