"""A secret given to a tool is nowhere: not in the SQLite files, exports, spans, logs or CLI."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from observe_kit import cli, plan_json
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from podium import Agent, Orchestrator, SqliteStore, tool
from podium.observe import REDACTED, instrument, uninstrument
from podium.testing import ScriptedModel, call

TOKEN = "svc-7Hq2Lr9XbV41kZ"  # in MY_SERVICE_TOKEN: secret by its name
PASSCODE = "orchid-lantern-5521"  # in DB_PASSCODE: secret because PODIUM_SECRET_ENV lists it


@tool
def call_service(token: str, passcode: str, query: str) -> str:
    """Call the internal service."""
    return f"authorized as {token} (db {passcode}); status of {query}: green"


def _team() -> Orchestrator:
    plan = plan_json(("t1", "caller", f"Check the service with token {TOKEN}", ()))
    model = ScriptedModel(
        {
            "lead": [plan, f"The service is green (token {TOKEN}, passcode {PASSCODE})."],
            "caller": [
                call("call_service", token=TOKEN, passcode=PASSCODE, query="billing"),
                f"Checked with {TOKEN}: green.",
            ],
        }
    )
    caller = Agent("caller", role="calls services", model=model, tools=[call_service])
    return Orchestrator(planner=Agent("lead", model=model), workers=[caller], name="ops")


def _span_text(exporter: InMemorySpanExporter) -> str:
    parts: list[Any] = []
    for span in exporter.get_finished_spans():
        parts += [span.name, dict(span.attributes or {}), span.status.description]
        parts += [(e.name, dict(e.attributes or {})) for e in span.events]
    return json.dumps(parts, default=str)


def _files(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(db.parent.glob(db.name + "*")))


def test_secret_tool_argument_is_redacted_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", TOKEN)
    monkeypatch.setenv("DB_PASSCODE", PASSCODE)
    monkeypatch.setenv("PODIUM_SECRET_ENV", "DB_PASSCODE")
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrument(provider, capture_content=True)
    caplog.set_level(logging.DEBUG, logger="podium")
    db = tmp_path / "runs.db"
    seen: list[bytes] = []

    async def go() -> Any:
        store = SqliteStore(db)
        try:
            result = await _team().run(f"Use {TOKEN} to check billing", store=store)
            seen.append(_files(db))  # the -wal file while the store is still open
            return result
        finally:
            await store.close()

    result = asyncio.run(go())
    uninstrument()
    assert result.ok
    run_id, store = result.run_id, str(db)

    outputs = {
        "db files (open)": seen[0],
        "db files (closed)": _files(db),
        "spans": _span_text(exporter).encode(),
        "logs": caplog.text.encode(),
    }
    for args in (
        ("show",),
        ("show", "--json"),
        ("trace",),
        ("trace", "--json"),
        ("export",),
        ("blame",),
        ("blame", "task.t1", "--json"),
        ("runs", "--json"),
    ):
        argv = (args[0], run_id) if args[0] != "runs" else args[:1]
        outputs[" ".join(args)] = cli(*argv, *args[1:], "--store", store).stdout.encode()
    cli("export", run_id, "-o", str(tmp_path / "run.jsonl"), "--store", store)
    outputs["export file"] = (tmp_path / "run.jsonl").read_bytes()

    for where, data in outputs.items():
        assert TOKEN.encode() not in data, f"the token leaked into {where}"
        assert PASSCODE.encode() not in data, f"the passcode leaked into {where}"
    # the redacted values are really there: the tool call was recorded and exported
    assert REDACTED.encode() in outputs["export file"]
    assert REDACTED in _span_text(exporter) and "gen_ai.tool.call.arguments" in _span_text(exporter)
    assert b"call_service" in outputs["db files (closed)"]
