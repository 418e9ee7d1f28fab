"""Eval tests run offline and forget the checker and tool modules they import."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from eval_kit import EXAMPLE

KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "PODIUM_MODEL", "PODIUM_STORE")


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for var in KEYS:
        monkeypatch.delenv(var, raising=False)
    before_path = list(sys.path)
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        origin = Path(getattr(sys.modules[name], "__file__", None) or "/").resolve()
        if origin.is_relative_to(EXAMPLE) or origin.is_relative_to(tmp_path.resolve()):
            del sys.modules[name]
    assert sys.path == before_path
