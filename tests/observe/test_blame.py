"""`podium blame`: a wrong fact back to its worker, an entry's lineage, an error's place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from observe_kit import cli, cli_json, plan_json, priced_team, run_in, runner

from podium import Agent, ModelRequest, ModelResponse, Orchestrator, Pipeline, ProviderError, tool
from podium.cli import app
from podium.guards import Limits
from podium.testing import ScriptedModel, call

WRONG = "The Eiffel Tower was completed in 1962 by the city of Lyon."
RIGHT = "The Eiffel Tower is 330 metres tall."


@pytest.fixture
def fact_run(tmp_path: Path) -> tuple[str, str]:
    """w2 introduces a wrong fact; the aggregator repeats it (re-cased, re-spaced)."""
    plan = plan_json(
        ("t1", "w1", "Find the tower's height", ()),
        ("t2", "w2", "Find when the tower was completed", ()),
        ("t3", "w3", "Write a one-line summary", ("t1", "t2")),
    )
    script = {
        "lead": [
            plan,
            "Findings about the tower:\n"
            f"- {RIGHT}\n"
            "- the eiffel tower was  completed in 1962 by the city of lyon.\n"
            "- Paris visitors climb it every day of the year.",
        ],
        "w1": [f"{RIGHT} It has three levels."],
        "w2": [f"According to my notes, {WRONG}"],
        "w3": ["Paris visitors climb it every day of the year."],
    }
    db = tmp_path / "facts.db"
    result = run_in(db, priced_team(script, ["w1", "w2", "w3"]), "Two facts about the tower")
    assert result.ok
    return str(db), result.run_id


def _claim(report: dict[str, Any], needle: str) -> dict[str, Any]:
    (found,) = [c for c in report["claims"] if needle in c["claim"].lower()]
    return found


def test_blame_final_names_the_worker_that_introduced_a_wrong_fact(
    fact_run: tuple[str, str],
) -> None:
    store, run_id = fact_run
    report = cli_json("blame", run_id, "--final", "--store", store)

    wrong = _claim(report, "1962")
    assert wrong["origin"]["agent"] == "w2"
    assert wrong["origin"]["path"] == "root/task[t2]/model#0"
    assert wrong["origin"]["kind"] == "model_response"
    assert "1962" in wrong["origin"]["excerpt"]
    hops = [(h["label"], h["agent"], h["path"]) for h in wrong["hops"]]
    assert hops[0] == ("final output", "team", "root")
    assert ("subtask t2 result", "w2", "root/task[t2]") in hops
    assert hops[-1][2] == "root/task[t2]/model#0"
    labels = [label for label, _, _ in hops]
    assert any(path == "root/aggregate/model#0" for _, _, path in hops)
    assert labels.index("subtask t2 result") > [p for _, _, p in hops].index(
        "root/aggregate/model#0"
    )

    assert _claim(report, "330 metres")["origin"]["agent"] == "w1"
    # the text is in w3's answer first, although w3 depended on t1 and t2
    assert _claim(report, "visitors climb")["origin"]["agent"] == "w3"

    text = cli("blame", run_id, "--store", store).stdout  # --final is the default
    assert "origin: w2 at root/task[t2]/model#0" in text
    assert "← subtask t2 result · w2 · root/task[t2]" in text


def test_blame_key_follows_sources_to_the_producing_model_calls(
    fact_run: tuple[str, str],
) -> None:
    store, run_id = fact_run
    lineage = cli_json("blame", run_id, "task.t3", "--store", store)

    where = (lineage["key"], lineage["author"], lineage["step"])
    assert where == ("task.t3", "w3", "root/task[t3]")
    assert lineage["producer"]["path"] == "root/task[t3]/model#0"
    sources = {s["key"]: s for s in lineage["sources"]}
    assert set(sources) == {"task.t1", "task.t2"}
    assert sources["task.t2"]["author"] == "w2"
    assert sources["task.t2"]["producer"]["path"] == "root/task[t2]/model#0"
    assert "1962" in sources["task.t2"]["producer"]["excerpt"]

    text = cli("blame", run_id, "task.t3", "--store", store).stdout
    assert "task.t2 v1 written by w2 at root/task[t2]" in text
    missing = runner.invoke(app, ["blame", run_id, "task.t9", "--store", store])
    assert missing.exit_code == 1 and "task.t1" in missing.stderr


@tool
def fetch_rows(table: str) -> str:
    """Read rows from the orders database."""
    raise ConnectionError(f"database refused the connection while reading {table}")


def _gives_up(request: ModelRequest) -> Any:
    """Calls the tool once; after its error, answers with nothing (a model giving up)."""
    if len(request.messages) <= 2:
        return call("fetch_rows", table="orders")
    return ModelResponse(text="")


def _provider_fails(request: ModelRequest) -> Any:
    """Calls the tool once; the next call to the provider fails."""
    if len(request.messages) <= 2:
        return call("fetch_rows", table="orders")
    raise ProviderError("upstream overloaded", provider="scripted", model="x", status=529)


@pytest.mark.parametrize(
    ("behaviour", "stop", "message", "error", "surfaced"),
    [
        (
            _gives_up,
            "error",
            "empty answer",
            "IncompleteResponse",
            "root/task[t1]/stage[fetcher]",
        ),
        (
            _provider_fails,
            "provider_failed",
            "upstream overloaded",
            "ProviderError",
            "root/task[t1]/stage[fetcher]/model#1",
        ),
    ],
    ids=["model-gives-up", "provider-error"],
)
def test_blame_error_in_a_nested_teams_tool(
    tmp_path: Path, behaviour: Any, stop: str, message: str, error: str, surfaced: str
) -> None:
    """The tool's exception goes back to the model as an error result (as it should);
    the model then gives up with an empty answer, or its provider fails. Either way the
    run fails, and blame points past where it surfaced to the failed tool call."""
    model = ScriptedModel(fn=behaviour)
    fetcher = Agent("fetcher", role="reads data", tools=[fetch_rows], model=model)
    ingest = Pipeline([fetcher], name="ingest", role="loads the orders")
    plan = plan_json(("t1", "ingest", "Load the orders", ()))
    team = Orchestrator(
        planner=Agent("lead", model=ScriptedModel([plan])), workers=[ingest], name="reports"
    )
    db = tmp_path / "err.db"
    result = run_in(db, team, "Report on orders", limits=Limits(max_replans=0))
    assert result.stop_reason == stop and message in (result.error or "")  # the run's error

    blamed = cli_json("blame", result.run_id, "--error", "--store", str(db))
    assert blamed["step"] == "root/task[t1]/stage[fetcher]/tool[fetch_rows]#0"
    assert blamed["agent"] == "fetcher"
    assert blamed["error"] == error
    assert blamed["surfaced"]["path"] == surfaced
    assert "ConnectionError" in blamed["cause"]["excerpt"]
    assert blamed["teams"] == ["ingest", "reports"]
    enclosing = [(e["kind"], e["path"]) for e in blamed["enclosing"]]
    assert enclosing == [
        ("stage", "root/task[t1]/stage[fetcher]"),
        ("subtask", "root/task[t1]"),
        ("run", "root"),
    ]
    assert blamed["enclosing"][1]["team"] == "pipeline"

    text = cli("blame", result.run_id, "--error", "--store", str(db)).stdout
    assert "blamed step: root/task[t1]/stage[fetcher]/tool[fetch_rows]#0" in text
    assert "teams: ingest ← reports" in text


def test_blame_error_on_a_clean_run_exits_1(fact_run: tuple[str, str]) -> None:
    store, run_id = fact_run
    clean = runner.invoke(app, ["blame", run_id, "--error", "--store", store])
    assert clean.exit_code == 1 and "no error" in clean.stderr
    both = runner.invoke(app, ["blame", run_id, "task.t1", "--final", "--store", store])
    assert both.exit_code == 2 and "one of KEY, --final or --error" in both.stderr
