"""Run stores: where runs and their event logs are kept."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from podium.errors import ConfigError
from podium.store._base import RunRecord, RunStore
from podium.store._memory import MemoryStore
from podium.store._sql import SCHEMA_VERSION
from podium.store._sqlite import DEFAULT_PATH, SqliteStore

if TYPE_CHECKING:
    from podium.store._postgres import PostgresStore

__all__ = [
    "DEFAULT_PATH",
    "SCHEMA_VERSION",
    "MemoryStore",
    "PostgresStore",
    "RunRecord",
    "RunStore",
    "SqliteStore",
    "open_store",
]

_POSTGRES_HINT = "PostgresStore needs psycopg: pip install 'podium[postgres]'"


def __getattr__(name: str) -> Any:
    # psycopg is an optional extra: imported only when PostgresStore is asked for
    if name == "PostgresStore":
        try:
            from podium.store._postgres import PostgresStore
        except ImportError as exc:
            raise ImportError(f"{_POSTGRES_HINT} ({exc})") from exc
        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_store(url: str | None = None) -> RunStore:
    """The store named by `url`, else by ``PODIUM_STORE``, else ``./.podium/podium.db``.

    Accepted forms: ``memory``, ``sqlite:///path/to/file.db``, a plain file path,
    or a PostgreSQL URL (``postgresql://user@host:5432/db``, ``postgres://...``).

    Raises:
        ConfigError: an unknown scheme, or a PostgreSQL URL without psycopg installed.
    """
    url = url or os.environ.get("PODIUM_STORE") or ""
    if not url:
        return SqliteStore(DEFAULT_PATH)
    if url == "memory":
        return MemoryStore()
    if url.startswith("sqlite:///"):
        return SqliteStore(url.removeprefix("sqlite:///"))
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from podium.store._postgres import PostgresStore
        except ImportError as exc:
            raise ConfigError(f"{_POSTGRES_HINT} ({exc})") from exc
        return PostgresStore(url)
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise ConfigError(
            f"unsupported store URL scheme {scheme!r}; "
            "use 'memory', 'sqlite:///PATH', 'postgresql://...' or a path"
        )
    return SqliteStore(url)
