"""Shared test setup: real network access is blocked in every test; helpers tests share."""

from __future__ import annotations

import ipaddress
import socket
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _allowed(address: Any) -> bool:
    if isinstance(address, str | bytes):  # AF_UNIX path
        return True
    if not isinstance(address, tuple) or not address:
        return False
    host = address[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: resolving and connecting would leave the machine
        return False


def _guarded(real: Any) -> Any:
    def connect(self: socket.socket, address: Any) -> Any:
        if self.family == getattr(socket, "AF_UNIX", None) or _allowed(address):
            return real(self, address)
        raise RuntimeError(f"network blocked in tests: connect to {address!r}")

    return connect


@pytest.fixture(autouse=True)
def _block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded(_real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded(_real_connect_ex))


@pytest.fixture(autouse=True)
def _fresh_circuit_breakers() -> Iterator[None]:
    """Circuit breakers are shared per process; each test starts with closed ones."""
    from podium.models._circuit import reset_shared_breakers

    reset_shared_breakers()
    yield
    reset_shared_breakers()


def _read_committed(db: Path, run_id: str, column: str) -> list[Any]:
    conn = sqlite3.connect(db)  # a connection of its own: what another process sees now
    try:
        rows = conn.execute(f"SELECT {column} FROM events WHERE run_id = ? ORDER BY seq", [run_id])
        return [value for (value,) in rows]
    finally:
        conn.close()


@pytest.fixture
def read_committed() -> Callable[[Path, str, str], list[Any]]:
    """`read(db, run_id, column)`: one column of a run's events committed to a SQLite file."""
    return _read_committed
