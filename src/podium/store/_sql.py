"""What the SQL run stores share: schema versions, migrations, row mapping, queries.

`SqlStore` implements the `RunStore` protocol once, in portable SQL; a dialect
subclass (`SqliteStore`, `PostgresStore`) only connects, runs statements in a
transaction and fetches rows.
"""

from __future__ import annotations

import functools
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from podium.errors import StoreError
from podium.events import Event, EventKind, compact_json
from podium.store._base import RunRecord, check_ttl

__all__ = [
    "POSTGRES",
    "SCHEMA_VERSION",
    "SQLITE",
    "Dialect",
    "SqlStore",
    "Stmt",
    "append_stmt",
    "create_leased_stmts",
]

#: Migrations, in order: step ``i`` takes a database from version ``i`` to ``i + 1``.
#: A released step is never edited; a schema change is a new step at the end.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # v1: runs and their event logs
        "CREATE TABLE IF NOT EXISTS runs (\n"
        "    run_id TEXT PRIMARY KEY, name TEXT NOT NULL, task TEXT NOT NULL,\n"
        "    status TEXT NOT NULL, created_at {real} NOT NULL, ended_at {real},\n"
        "    output TEXT, error TEXT, usage TEXT NOT NULL, model TEXT NOT NULL,\n"
        "    offline {int} NOT NULL\n)",
        "CREATE INDEX IF NOT EXISTS runs_created ON runs (created_at)",
        "CREATE TABLE IF NOT EXISTS events (\n"
        "    run_id TEXT NOT NULL, seq {int} NOT NULL, path TEXT NOT NULL,\n"
        "    parent TEXT NOT NULL, agent TEXT NOT NULL, kind TEXT NOT NULL,\n"
        "    started_at {real} NOT NULL, ended_at {real} NOT NULL,\n"
        "    input_tokens {int} NOT NULL, output_tokens {int} NOT NULL,\n"
        "    cost_usd {real} NOT NULL, payload TEXT NOT NULL, v {int} NOT NULL,\n"
        "    PRIMARY KEY (run_id, seq)\n)",
    ),
    (  # v2: leases, so that one process at a time drives a run
        "CREATE TABLE IF NOT EXISTS leases ("
        "run_id TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at {real} NOT NULL)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

META_DDL = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
GET_VERSION = "SELECT value FROM meta WHERE key = 'schema_version'"
SET_VERSION = (
    "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)

_RUN_COLS = "run_id, name, task, status, created_at, ended_at, output, error, usage, model, offline"
_EVENT_COLS = (
    "run_id, seq, path, parent, agent, kind, started_at, ended_at, "
    "input_tokens, output_tokens, cost_usd, payload, v"
)
_INSERT_RUN = f"INSERT INTO runs ({_RUN_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
_UPSERT_RUN = (
    _INSERT_RUN
    + " ON CONFLICT (run_id) DO UPDATE SET "
    + ", ".join(f"{col} = excluded.{col}" for col in _RUN_COLS.split(", ")[1:])
)
_INSERT_EVENTS = f"INSERT INTO events ({_EVENT_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
_ACQUIRE = (
    "INSERT INTO leases (run_id, owner, expires_at) VALUES (?, ?, {now} + ?) "
    "ON CONFLICT (run_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at "
    "WHERE leases.owner = excluded.owner OR leases.expires_at <= {now}"
)
_RENEW = "UPDATE leases SET expires_at = {now} + ? WHERE run_id = ? AND owner = ?"
_RELEASE = "DELETE FROM leases WHERE run_id = ? AND owner = ?"


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity: a cheap cache key
class Dialect:
    """How one database spells the shared SQL.

    Attributes:
        name: for messages.
        real: the 8-byte float column type.
        int: the integer column type.
        now: an expression for the database clock, in seconds since the epoch.
        param: the parameter placeholder of the driver.
    """

    name: str
    real: str
    int: str
    now: str
    param: str = "?"

    def sql(self, text: str) -> str:
        """`text` (written with ``?`` and ``{real}``/``{int}``/``{now}``) for this dialect."""
        return _render(self, text)


@functools.cache
def _render(dialect: Dialect, text: str) -> str:
    text = text.format(real=dialect.real, int=dialect.int, now=dialect.now)
    return text.replace("?", dialect.param) if dialect.param != "?" else text


SQLITE = Dialect(
    name="sqlite", real="REAL", int="INTEGER", now="((julianday('now') - 2440587.5) * 86400.0)"
)
POSTGRES = Dialect(
    name="postgres",
    real="DOUBLE PRECISION",
    int="BIGINT",
    now="CAST(extract(epoch FROM clock_timestamp()) AS DOUBLE PRECISION)",
    param="%s",
)


def migration_steps(dialect: Dialect, found: str | None, where: str) -> list[str]:
    """The statements that bring a database at version `found` to `SCHEMA_VERSION`.

    Args:
        dialect: the database's dialect.
        found: the stored ``schema_version`` (None for a new database).
        where: the database, for the error message.

    Raises:
        StoreError: the database was written by a newer podium.
    """
    version = int(found) if found is not None else 0
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{where} was written by a newer podium (schema {version}, "
            f"this podium knows {SCHEMA_VERSION}); upgrade podium to read it"
        )
    return [dialect.sql(s) for step in MIGRATIONS[version:] for s in step]


@dataclass(frozen=True, slots=True)
class Stmt:
    """One SQL statement (shared spelling) with its parameters.

    `many` runs it once per parameter row in `params`.
    """

    sql: str
    params: Sequence[Any] = ()
    many: bool = False


# Text a database refuses (NUL in PostgreSQL, lone surrogates in any UTF-8
# store) is stored as this mark plus a JSON string literal, losslessly.
_MARK = "\ufdd0"


def encode_text(text: str) -> str:
    """`text` in a form every database accepts; `decode_text` gives it back."""
    if text.isascii():
        if "\x00" not in text:
            return text
    elif not text.startswith(_MARK) and "\x00" not in text:
        try:
            text.encode()
            return text
        except UnicodeEncodeError:
            pass
    return _MARK + json.dumps(text)


def decode_text(text: str) -> str:
    """The original of an `encode_text` result (other text is returned as is)."""
    if text.startswith(_MARK):
        try:
            decoded = json.loads(text[1:])
        except ValueError:  # not ours: stored by someone else, keep it
            return text
        if isinstance(decoded, str):
            return decoded
    return text


def _opt(text: str | None, codec: Any) -> str | None:
    return None if text is None else str(codec(text))


def run_row(run: RunRecord) -> tuple[Any, ...]:
    """The `runs` row of `run` (run ids are stored as they are)."""
    return (
        run.run_id,
        encode_text(run.name),
        encode_text(run.task),
        run.status,
        run.created_at,
        run.ended_at,
        _opt(run.output, encode_text),
        _opt(run.error, encode_text),
        _storable_json(run.usage, compact_json(run.usage)),
        encode_text(run.model),
        int(run.offline),
    )


def run_from_row(row: Sequence[Any]) -> RunRecord:
    """The record of a `runs` row."""
    return RunRecord(
        run_id=row[0],
        name=decode_text(row[1]),
        task=decode_text(row[2]),
        status=row[3],
        created_at=row[4],
        ended_at=row[5],
        output=_opt(row[6], decode_text),
        error=_opt(row[7], decode_text),
        usage=json.loads(row[8]),
        model=decode_text(row[9]),
        offline=bool(row[10]),
    )


def _storable_json(value: Any, text: str) -> str:
    """`text`, the compact JSON of `value`, or an escaped form a database accepts."""
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:  # lone surrogates (e.g. from decoded JSON): keep escaped
            return json.dumps(value, separators=(",", ":"), default=str)
    return text


def event_row(e: Event) -> tuple[Any, ...]:
    """The `events` row of `e`; the payload is JSON text with NULs escaped."""
    payload = _storable_json(e.payload, e.payload_json())
    return (
        e.run_id,
        e.seq,
        encode_text(e.path),
        encode_text(e.parent),
        encode_text(e.agent),
        str(e.kind),
        e.started_at,
        e.ended_at,
        e.input_tokens,
        e.output_tokens,
        e.cost_usd,
        payload,
        e.v,
    )


def append_stmt(events: Sequence[Event]) -> Stmt:
    """The statement that inserts `events`."""
    return Stmt(_INSERT_EVENTS, [event_row(e) for e in events], many=True)


def create_leased_stmts(run: RunRecord, owner: str, ttl: float) -> tuple[Stmt, Stmt]:
    """The statements that create `run` with `owner` holding its lease."""
    check_ttl(ttl)
    return Stmt(_INSERT_RUN, run_row(run)), Stmt(_ACQUIRE, [run.run_id, owner, ttl])


def event_from_row(r: Sequence[Any]) -> Event:
    """The event of an `events` row."""
    return Event(
        run_id=r[0],
        seq=r[1],
        path=decode_text(r[2]),
        parent=decode_text(r[3]),
        agent=decode_text(r[4]),
        kind=EventKind(r[5]),
        started_at=r[6],
        ended_at=r[7],
        input_tokens=r[8],
        output_tokens=r[9],
        cost_usd=r[10],
        payload=json.loads(r[11]),
        v=r[12],
    )


class SqlStore(ABC):
    """The `RunStore` in portable SQL over a dialect's `_write` and `_fetch`."""

    dialect: ClassVar[Dialect]

    @abstractmethod
    async def _write(self, *stmts: Stmt) -> int:
        """Run `stmts` in one transaction; the row count of the last one."""

    @abstractmethod
    async def _fetch(self, stmt: Stmt) -> list[tuple[Any, ...]]:
        """The rows of one query."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections and threads."""

    async def create_run(self, run: RunRecord) -> None:
        """Record a new run."""
        await self._write(Stmt(_INSERT_RUN, run_row(run)))

    async def append(self, events: Sequence[Event]) -> None:
        """Append events durably, all or none."""
        if events:
            await self._write(append_stmt(events))

    async def finish_run(self, run: RunRecord) -> None:
        """Store the final state of `run`."""
        await self._write(Stmt(_UPSERT_RUN, run_row(run)))

    async def get_run(self, run_id: str) -> RunRecord | None:
        """The run with this id, or the only run whose id starts with it."""
        rows = await self._fetch(Stmt(f"SELECT {_RUN_COLS} FROM runs WHERE run_id = ?", [run_id]))
        if not rows:
            # substr, not LIKE: LIKE ignores case in SQLite, and ids are case-sensitive
            rows = await self._fetch(
                Stmt(
                    f"SELECT {_RUN_COLS} FROM runs "
                    "WHERE substr(run_id, 1, CAST(? AS INTEGER)) = ? LIMIT 2",
                    [len(run_id), run_id],
                )
            )
        return run_from_row(rows[0]) if len(rows) == 1 else None

    async def list_runs(self, limit: int = 50) -> list[RunRecord]:
        """Newest runs first."""
        rows = await self._fetch(
            Stmt(f"SELECT {_RUN_COLS} FROM runs ORDER BY created_at DESC LIMIT ?", [limit])
        )
        return [run_from_row(r) for r in rows]

    async def events(self, run_id: str) -> list[Event]:
        """Every event of a run, in order."""
        rows = await self._fetch(
            Stmt(f"SELECT {_EVENT_COLS} FROM events WHERE run_id = ? ORDER BY seq", [run_id])
        )
        return [event_from_row(r) for r in rows]

    async def acquire_lease(self, run_id: str, owner: str, ttl: float) -> bool:
        """Make `owner` the only driver of `run_id` for `ttl` seconds (database clock)."""
        check_ttl(ttl)
        return await self._write(Stmt(_ACQUIRE, [run_id, owner, ttl])) == 1

    async def renew_lease(self, run_id: str, owner: str, ttl: float) -> bool:
        """Extend `owner`'s lease to `ttl` seconds from now; false if it is not theirs."""
        check_ttl(ttl)
        return await self._write(Stmt(_RENEW, [ttl, run_id, owner])) == 1

    async def release_lease(self, run_id: str, owner: str) -> None:
        """Give up `owner`'s lease (nothing happens if someone else holds it)."""
        await self._write(Stmt(_RELEASE, [run_id, owner]))

    async def create_run_leased(self, run: RunRecord, owner: str, ttl: float) -> bool:
        """`create_run` and `acquire_lease` in one transaction (one round trip)."""
        return await self._write(*create_leased_stmts(run, owner, ttl)) == 1

    async def end_run(self, events: Sequence[Event], run: RunRecord, owner: str) -> None:
        """The last events, the final run record and the lease release, all or none."""
        stmts = [append_stmt(events)] if events else []
        await self._write(
            *stmts, Stmt(_UPSERT_RUN, run_row(run)), Stmt(_RELEASE, [run.run_id, owner])
        )
