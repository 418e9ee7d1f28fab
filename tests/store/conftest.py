"""Store backends for the store tests: memory, SQLite and a real PostgreSQL.

PostgreSQL tests use ``PODIUM_TEST_POSTGRES`` (default: the local server, trust
auth, database ``test``), each in a fresh schema dropped afterwards. When the
server is unreachable they skip locally and fail in CI (``CI`` set).
"""

from __future__ import annotations

import functools
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from store_kit import PG_URL, Backend, pg_admin

from podium import MemoryStore, SqliteStore
from podium.store import RunStore
from podium.store._postgres import PostgresStore


@functools.cache
def _postgres_problem() -> str | None:
    try:
        psycopg.connect(PG_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL unreachable at {PG_URL}: {exc}".strip()
    return None


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose tables live in a fresh schema (also its application_name)."""
    problem = _postgres_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    schema = f"podium_test_{uuid.uuid4().hex[:12]}"
    pg_admin(f'CREATE SCHEMA "{schema}"')
    yield f"{PG_URL}?options=-csearch_path%3D{schema}&application_name={schema}"
    pg_admin(f'DROP SCHEMA "{schema}" CASCADE')


def _sqlite_raw(path: Path) -> Callable[[str], list[tuple[Any, ...]]]:
    def run(statement: str) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            return conn.execute(statement).fetchall()
        finally:
            conn.close()

    return run


def _postgres_raw(url: str) -> Callable[[str], list[tuple[Any, ...]]]:
    def run(statement: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(url, autocommit=True) as conn:
            cur = conn.execute(statement.encode())
            return cur.fetchall() if cur.description else []

    return run


def make_backend(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """The backend called `name`, isolated to the current test."""
    if name == "memory":
        memory = MemoryStore()
        return Backend(name, lambda: memory)
    if name == "sqlite":
        path = tmp_path / "nested" / "dir" / "p.db"  # the store creates the folders
        return Backend(name, lambda: SqliteStore(path), _sqlite_raw(path), str(path))
    url: str = request.getfixturevalue("pg_url")
    return Backend(name, lambda: PostgresStore(url), _postgres_raw(url), url)


async def _closing(backend: Backend) -> AsyncIterator[Backend]:
    yield backend
    for store in backend.opened:
        await store.close()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """Every backend in turn."""
    async for b in _closing(make_backend(request.param, request, tmp_path)):
        yield b


@pytest.fixture(params=["sqlite", "postgres"])
async def sql_backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """The backends that keep data in a database other processes can open."""
    async for b in _closing(make_backend(request.param, request, tmp_path)):
        yield b


@pytest.fixture
async def store(backend: Backend) -> RunStore:
    """A store on every backend in turn."""
    return backend.open()
