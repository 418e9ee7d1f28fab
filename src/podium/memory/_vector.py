"""Long-term memory: the `Memory` protocol and its sqlite-vec implementation."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, Protocol, Self, TypeVar, runtime_checkable

from podium.errors import ConfigError
from podium.memory._embed import Embedder

__all__ = ["Memory", "MemoryHit", "SqliteVecMemory"]

T = TypeVar("T")
_INSTALL = "pip install 'podium[memory]'"
_COLLECTION = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")
_MAX_K = 4096  # sqlite-vec's limit for one KNN query
Scalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryHit:
    """One search result.

    Attributes:
        id: the entry's id.
        text: the remembered text.
        metadata: what was stored with it.
        score: cosine similarity to the query, from -1 to 1 (higher is closer).
    """

    id: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    score: float


@runtime_checkable
class Memory(Protocol):
    """Long-term memory: texts kept across runs, found again by meaning."""

    async def add(
        self, text: str, *, metadata: Mapping[str, Any] | None = None, id: str | None = None
    ) -> str:
        """Remember `text`; returns its id. An existing `id` is replaced."""
        ...

    async def search(
        self, query: str, *, k: int = 5, where: Mapping[str, Scalar] | None = None
    ) -> list[MemoryHit]:
        """The `k` entries closest to `query`, best first, among those matching `where`."""
        ...

    async def delete(self, id: str) -> bool:
        """Forget one entry; False when there was none with that id."""
        ...

    async def count(self) -> int:
        """How many entries there are."""
        ...

    async def close(self) -> None:
        """Release resources; the memory is unusable afterwards."""
        ...


def _sqlite_module() -> ModuleType:
    """A DB-API sqlite module that can load extensions (some Python builds cannot)."""
    if hasattr(sqlite3.Connection, "enable_load_extension"):
        return sqlite3
    for name in ("sqlean", "pysqlite3.dbapi2"):
        try:
            return __import__(name, fromlist=["connect"])
        except ImportError:
            continue
    raise ConfigError(
        "this Python's sqlite3 cannot load extensions, which sqlite-vec needs; "
        f"{_INSTALL} (it brings sqlean.py, a sqlite3 that can)"
    )


class SqliteVecMemory:
    """`Memory` in one SQLite file, with vector search by the sqlite-vec extension.

    Each collection is a normal table (id, text, metadata JSON) plus a ``vec0``
    virtual table of embeddings (cosine distance). A collection remembers the
    embedder's dimension and refuses another. All database work runs on one
    worker thread, never on the event loop; the file opens on first use.

    Args:
        path: a database file (created with its folders if missing) or ``":memory:"``.
        embedder: turns texts into vectors, e.g. `HashingEmbedder` or `MiniLMEmbedder`.
        collection: a name (letters, digits, ``_``); collections in one file are
            independent and may use different embedders (names must differ in
            more than case).

    Raises:
        ConfigError: sqlite-vec is not installed, or the collection name is invalid.
    """

    def __init__(
        self, path: str | os.PathLike[str], embedder: Embedder, *, collection: str = "default"
    ) -> None:
        try:
            import sqlite_vec
        except ImportError:
            raise ConfigError(
                f"SqliteVecMemory needs sqlite-vec (not installed): {_INSTALL}"
            ) from None
        if not _COLLECTION.fullmatch(collection):
            raise ConfigError(
                f"collection {collection!r}: use a letter, then letters, digits or '_' (max 63)"
            )
        self._sqlite_vec = sqlite_vec
        self._driver = _sqlite_module()
        self.path = str(path)
        self.embedder = embedder
        self.collection = collection
        self._items = f"memory_{collection}"
        self._vectors = f"memory_{collection}_vec"
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"podium-memory-{collection}")

    def __repr__(self) -> str:
        return f"SqliteVecMemory({self.path!r}, {self.embedder!r}, collection={self.collection!r})"

    async def __aenter__(self) -> Self:
        await self._run(lambda conn: None)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def add(
        self, text: str, *, metadata: Mapping[str, Any] | None = None, id: str | None = None
    ) -> str:
        """Remember `text` with JSON-serializable `metadata`; returns its id (a new uuid4 hex).

        Giving the `id` of an existing entry replaces it, so retries are idempotent.
        """
        meta = json.dumps(dict(metadata or {}), ensure_ascii=False, default=str)
        entry_id = id if id is not None else uuid.uuid4().hex
        (vector,) = await self._embed([text])
        blob = self._sqlite_vec.serialize_float32(vector)

        def write(conn: sqlite3.Connection) -> None:
            with conn:
                self._delete_row(conn, entry_id)
                cur = conn.execute(
                    f"INSERT INTO {self._items} (id, text, metadata, created_at) VALUES (?,?,?,?)",
                    (entry_id, text, meta, time.time()),
                )
                conn.execute(
                    f"INSERT INTO {self._vectors} (rowid, embedding) VALUES (?, ?)",
                    (cur.lastrowid, blob),
                )

        await self._run(write)
        return entry_id

    async def search(
        self, query: str, *, k: int = 5, where: Mapping[str, Scalar] | None = None
    ) -> list[MemoryHit]:
        """The `k` entries most similar to `query`, best first.

        Args:
            query: text to look for.
            k: at most this many hits (1 to 4096).
            where: metadata filter, every key equal to its value (str, int, float,
                bool or None); applied inside the KNN query, so `k` hits come back
                whenever `k` entries match.
        """
        if not 1 <= k <= _MAX_K:
            raise ConfigError(f"search: k must be between 1 and {_MAX_K}, not {k}")
        sql = (
            f"SELECT i.id, i.text, i.metadata, v.distance FROM {self._vectors} v "
            f"JOIN {self._items} i ON i.rowid = v.rowid "
            "WHERE v.embedding MATCH ? AND k = ?"
        )
        (vector,) = await self._embed([query])
        params: list[Any] = [self._sqlite_vec.serialize_float32(vector), k]
        if where:
            matches = " AND ".join(_condition(key, value, params) for key, value in where.items())
            sql += f" AND v.rowid IN (SELECT rowid FROM {self._items} WHERE {matches})"
        sql += " ORDER BY v.distance"
        rows = await self._run(lambda conn: conn.execute(sql, params).fetchall())
        return [
            MemoryHit(id=r[0], text=r[1], metadata=json.loads(r[2]), score=1.0 - r[3])
            for r in rows
            if r[3] is not None  # a zero vector has no direction, so no similarity
        ]

    async def get(self, id: str) -> MemoryHit | None:
        """The entry with this id (score 1.0), or None."""
        row = await self._run(
            lambda conn: conn.execute(
                f"SELECT id, text, metadata FROM {self._items} WHERE id = ?", (id,)
            ).fetchone()
        )
        return (
            None
            if row is None
            else MemoryHit(id=row[0], text=row[1], metadata=json.loads(row[2]), score=1.0)
        )

    async def delete(self, id: str) -> bool:
        """Forget the entry with this id; False if there was none."""

        def remove(conn: sqlite3.Connection) -> bool:
            with conn:
                return self._delete_row(conn, id)

        return await self._run(remove)

    async def count(self) -> int:
        """How many entries the collection holds."""
        row = await self._run(
            lambda conn: conn.execute(f"SELECT count(*) FROM {self._items}").fetchone()
        )
        return int(row[0])

    async def close(self) -> None:
        """Close the database and stop the worker thread (safe to call twice)."""
        if self._closed:
            return
        self._closed = True

        def shut() -> None:  # on the worker, after every job queued before it
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await asyncio.get_running_loop().run_in_executor(self._executor, shut)
        self._executor.shutdown(wait=False)

    async def _embed(self, texts: list[str]) -> list[list[float]]:
        vectors = await self.embedder.embed(texts)
        dim = self.embedder.dimension
        for vector in vectors:
            if len(vector) != dim:
                raise ConfigError(
                    f"{self.embedder!r} returned a vector of length {len(vector)}, "
                    f"but its dimension is {dim}"
                )
        return vectors

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise ConfigError(f"{self!r} is closed")

        def job() -> T:
            if self._conn is None:
                self._conn = self._open()
            return fn(self._conn)

        return await asyncio.get_running_loop().run_in_executor(self._executor, job)

    def _open(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn: sqlite3.Connection = self._driver.connect(self.path)
        try:
            conn.enable_load_extension(True)
            self._sqlite_vec.load(conn)
            conn.enable_load_extension(False)
            self._ensure_schema(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _ensure_schema(self, conn: sqlite3.Connection) -> None:
        dim = self.embedder.dimension
        with conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS memory_collections (name TEXT PRIMARY KEY, "
                "dimension INTEGER NOT NULL, embedder TEXT NOT NULL, created_at REAL NOT NULL)"
            )
            conn.execute(
                "INSERT OR IGNORE INTO memory_collections VALUES (?, ?, ?, ?)",
                (self.collection, dim, repr(self.embedder), time.time()),
            )
            clash = conn.execute(  # table names ignore case, so these would share tables
                "SELECT name FROM memory_collections WHERE name = ? COLLATE NOCASE AND name != ?",
                (self.collection, self.collection),
            ).fetchone()
            if clash is not None:
                raise ConfigError(
                    f"memory collection {self.collection!r} in {self.path} clashes with "
                    f"{clash[0]!r}: collection names must differ in more than case"
                )
            stored, made_by = conn.execute(
                "SELECT dimension, embedder FROM memory_collections WHERE name = ?",
                (self.collection,),
            ).fetchone()
            if stored != dim:
                raise ConfigError(
                    f"memory collection {self.collection!r} in {self.path} holds "
                    f"{stored}-dimension vectors (made by {made_by}), but {self.embedder!r} "
                    f"gives {dim}; use the same embedder, or another collection or file"
                )
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._items} (rowid INTEGER PRIMARY KEY, "
                "id TEXT NOT NULL UNIQUE, text TEXT NOT NULL, metadata TEXT NOT NULL, "
                "created_at REAL NOT NULL)"
            )
            conn.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {self._vectors} USING "
                f"vec0(embedding float[{dim}] distance_metric=cosine)"
            )

    def _delete_row(self, conn: sqlite3.Connection, entry_id: str) -> bool:
        row = conn.execute(f"SELECT rowid FROM {self._items} WHERE id = ?", (entry_id,)).fetchone()
        if row is None:
            return False
        conn.execute(f"DELETE FROM {self._vectors} WHERE rowid = ?", (row[0],))
        conn.execute(f"DELETE FROM {self._items} WHERE rowid = ?", (row[0],))
        return True


def _condition(key: str, value: Any, params: list[Any]) -> str:
    """One metadata equality as SQL, appending its parameters."""
    if not key or '"' in key:
        raise ConfigError(f"where: key {key!r} must be non-empty and contain no double quote")
    path = f'$."{key}"'
    if value is None:
        params.append(path)
        return "json_type(metadata, ?) = 'null'"
    if not isinstance(value, str | int | float | bool):
        raise ConfigError(
            f"where[{key!r}]: only str, int, float, bool or None values can be matched, "
            f"not {type(value).__name__}"
        )
    if isinstance(value, bool):  # SQLite reads JSON true/false as 1/0: match the JSON type
        params.append(path)
        return "json_type(metadata, ?) = 'true'" if value else "json_type(metadata, ?) = 'false'"
    if isinstance(value, int | float):  # ... so a number must not match true or false
        params.extend([path, path, value])
        return "(json_type(metadata, ?) IN ('integer', 'real') AND json_extract(metadata, ?) = ?)"
    params.extend([path, value])
    return "json_extract(metadata, ?) = ?"
