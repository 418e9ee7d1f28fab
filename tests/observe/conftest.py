"""Every observability test runs offline, with no OTEL_* export and logging reset."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from podium.observe import configure_cli_logging, uninstrument


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "PODIUM_MODEL", "PODIUM_STORE"):
        monkeypatch.delenv(var, raising=False)
    for var in ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    yield
    uninstrument()
    configure_cli_logging(0)
