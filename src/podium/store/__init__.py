"""Run stores: where runs and their event logs are kept."""

from __future__ import annotations

import os

from podium.errors import ConfigError
from podium.store._base import RunRecord, RunStore
from podium.store._memory import MemoryStore
from podium.store._sqlite import DEFAULT_PATH, SqliteStore

__all__ = ["DEFAULT_PATH", "MemoryStore", "RunRecord", "RunStore", "SqliteStore", "open_store"]


def open_store(url: str | None = None) -> RunStore:
    """The store named by `url`, else by ``PODIUM_STORE``, else ``./.podium/podium.db``.

    Accepted forms: ``memory``, ``sqlite:///path/to/file.db``, or a plain file path.
    """
    url = url or os.environ.get("PODIUM_STORE") or ""
    if not url:
        return SqliteStore(DEFAULT_PATH)
    if url == "memory":
        return MemoryStore()
    if url.startswith("sqlite:///"):
        return SqliteStore(url.removeprefix("sqlite:///"))
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise ConfigError(
            f"unsupported store URL scheme {scheme!r}; use 'memory', 'sqlite:///PATH' or a path"
        )
    return SqliteStore(url)
