"""`podium export` (JSONL against docs/event.schema.json) and `-v` logging."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import jsonschema
import pytest
from observe_kit import cli, cli_json, runner

from podium import Agent, MemoryStore
from podium.cli import app
from podium.events import Event, EventKind
from podium.testing import ScriptedModel

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "event.schema.json").read_text()
)


def test_schema_is_valid_and_knows_every_event_kind() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert set(SCHEMA["properties"]["kind"]["enum"]) == {str(k) for k in EventKind}
    sample = Event(
        run_id="r",
        path="root",
        parent="",
        agent="a",
        kind=EventKind.NOTICE,
        started_at=0,
        ended_at=0,
    )
    assert set(SCHEMA["required"]) == set(sample.to_dict())


def test_jsonl_export_validates_and_round_trips(tmp_path: Path) -> None:
    store = str(tmp_path / "runs.db")
    run_id = cli_json("demo", "--store", store)["run_id"]
    lines = cli("export", run_id, "--store", store).stdout.splitlines()
    validator = jsonschema.Draft202012Validator(SCHEMA)

    events = [json.loads(line) for line in lines]
    for event in events:
        errors = [e.message for e in validator.iter_errors(event)]
        assert not errors, (event["kind"], errors)
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert events[0]["kind"] == "run_start" and events[-1]["kind"] == "run_end"
    assert Event.from_dict(events[3]).to_dict() == events[3]

    out = tmp_path / "run.jsonl"
    written = runner.invoke(app, ["export", run_id[:8], "-o", str(out), "--store", store])
    assert written.exit_code == 0 and f"wrote {len(lines)} events" in written.stderr
    assert out.read_text().splitlines() == lines
    bad = runner.invoke(app, ["export", run_id, "--format", "csv", "--store", store])
    assert bad.exit_code == 2


def test_verbose_logs_one_line_per_event_to_stderr(tmp_path: Path) -> None:
    store = str(tmp_path / "runs.db")
    quiet = runner.invoke(app, ["demo", "--json", "--store", store])
    assert "podium.events" not in quiet.stderr

    loud = runner.invoke(app, ["-v", "demo", "--json", "--store", store])
    assert loud.exit_code == 0, loud.output
    run_id = json.loads(loud.stdout)["run_id"]
    lines = [line for line in loud.stderr.splitlines() if line.startswith("INFO podium.events")]
    assert len(lines) == len(cli("export", run_id, "--store", store).stdout.splitlines())
    assert any(
        "model_response root/plan/model#0 agent=lead model=scripted:demo tokens=" in line
        and "cost=$" in line
        for line in lines
    )
    assert "payload=" not in loud.stderr

    debug = runner.invoke(app, ["-vv", "demo", "--json", "--store", store])
    assert "payload={" in debug.stderr


def test_event_records_carry_structured_fields(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="podium")
    result = Agent("solo", model=ScriptedModel(["hi"])).run_sync("x", store=MemoryStore())
    records = [r for r in caplog.records if r.name == "podium.events"]
    response = next(r for r in records if r.kind == "model_response")  # type: ignore[attr-defined]
    assert response.run_id == result.run_id  # type: ignore[attr-defined]
    assert response.step == "root/model#0" and response.agent == "solo"  # type: ignore[attr-defined]
    assert response.input_tokens > 0  # type: ignore[attr-defined]
    assert logging.NullHandler in {type(h) for h in logging.getLogger("podium").handlers}
