"""Guards in YAML specs: budgets, limits, loop detectors, checks and approvals."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from podium import Budget, Limits, LoopPolicy, MemoryStore, StopReason
from podium.cli import app
from podium.errors import SpecError
from podium.guards import CommandVerifier, FileExistsVerifier, JsonSchemaVerifier
from podium.models import _pricing
from podium.spec import TeamSpec, load_spec

runner = CliRunner()

CODE = """\
def long_enough(value):
    return None if len(str(value)) > 5 else "too short"


def never(value):
    return False


def two(a, b):
    return a
"""

GUARDED = """\
version: 1
name: guarded
budget: {usd: 0.5, tokens: 20000, model_calls: 12, seconds: 30}
limits: {max_turns: 3, max_fanout: 4, max_replans: 0}
loops: {repeated_tool_calls: 2, similarity: 0.9}
verify:
  - predicate: "guard_code:long_enough"
  - {target: notes, required: false, json_schema: {type: string}}
  - {command: "true", timeout: 5}
  - {file_exists: report.md, required: false}
agents:
  lead: {budget: {usd: 0.1, model_calls: 4}}
  researcher:
    writes: [notes]
    tools:
      - "os.path:isfile"
      - {use: "os.path:exists", approval: true, approval_timeout: 60, approval_default: deny}
  writer: {reads: [notes]}
teams:
  report:
    pattern: pipeline
    budget: {tokens: 5000}
    stages:
      - researcher
      - {use: writer, approval: true, approval_timeout: 300}
team:
  pattern: orchestrator
  planner: lead
  workers: [report]
"""


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "guard_code.py").write_text(CODE, encoding="utf-8")
    yield tmp_path
    sys.modules.pop("guard_code", None)


@pytest.fixture(autouse=True)
def _restore_prices(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "PODIUM_MODEL", "PODIUM_STORE"):
        monkeypatch.delenv(var, raising=False)
    saved = dict(_pricing._table())
    yield
    _pricing._table().clear()
    _pricing._table().update(saved)


def write(folder: Path, text: str) -> Path:
    path = folder / "team.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error(folder: Path, text: str) -> tuple[SpecError, Path]:
    path = write(folder, text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    return info.value, path


def simple(guards: str, agents: str = "agents: {a: {}}\n") -> str:
    return f"version: 1\nname: t\n{guards}{agents}team: {{pattern: pipeline, stages: [a]}}\n"


# --- reading the keys ------------------------------------------------------------------------


def test_guard_keys_become_the_runs_guards(folder: Path) -> None:
    spec = load_spec(write(folder, GUARDED))
    assert spec.budget == Budget(usd=0.5, tokens=20000, model_calls=12, seconds=30)
    assert spec.limits == Limits(max_turns=3, max_fanout=4, max_replans=0)
    assert spec.loops == LoopPolicy(repeated_tool_calls=2, similarity=0.9)
    team = spec.build()
    assert team.budget == spec.budget
    assert (getattr(team, "limits"), getattr(team, "loops")) == (spec.limits, spec.loops)  # noqa: B009
    checks = getattr(team, "checks")  # noqa: B009
    assert [(c.target, c.required) for c in checks] == [
        ("final", True),
        ("notes", False),
        ("final", True),
        ("final", False),
    ]
    predicate, schema, command, exists = (c.verifier for c in checks)
    assert predicate.name == "guard_code:long_enough"
    assert isinstance(schema, JsonSchemaVerifier) and schema.schema == {"type": "string"}
    assert isinstance(command, CommandVerifier) and command.timeout == 5
    assert isinstance(exists, FileExistsVerifier) and exists.path == "report.md"

    assert team.planner.budget == Budget(usd=0.1, model_calls=4)
    (report,) = team.workers
    assert report.budget == Budget(tokens=5000)
    researcher, writer = report._stages
    assert (researcher.approval, writer.approval, writer.approval_timeout) == (False, True, 300)
    isfile, exists_tool = researcher.runnable.tools
    assert not isfile.needs_approval
    assert exists_tool.needs_approval and exists_tool.approval_timeout == 60
    assert exists_tool.approval_default == "deny"


def test_a_spec_without_guards_leaves_the_defaults(folder: Path) -> None:
    spec = load_spec(write(folder, simple("budget:\nlimits:\n")))
    assert (spec.budget, spec.limits, spec.loops, spec.checks) == (None, None, None, ())
    team = spec.build()
    assert team.budget is None and not hasattr(team, "limits") and not hasattr(team, "checks")


def test_guards_in_a_spec_made_in_code() -> None:
    data: dict[str, Any] = {
        "version": 1,
        "name": "t",
        "budget": {"usd": 1},
        "verify": [{"predicate": "json:dumps"}],
        "agents": {"a": {"tools": [{"use": "os.path:exists", "approval": True}]}},
        "team": {"pattern": "pipeline", "stages": ["a"]},
    }
    team = TeamSpec.model_validate(data).build()
    assert team.budget == Budget(usd=1)
    assert getattr(team, "checks")[0].verifier.fn is json.dumps  # noqa: B009
    assert team._stages[0].runnable.tools[0].needs_approval
    data["verify"] = [{"predicate": "json:dumps", "file_exists": "x"}]
    with pytest.raises(SpecError, match=r"verify\[0\].file_exists: a check has one kind"):
        TeamSpec.model_validate(data).build()


# --- errors, at their position ---------------------------------------------------------------


def test_unknown_budget_key_suggests_the_close_one(folder: Path) -> None:
    exc, path = error(folder, simple("budget: {usd: 1, model_cals: 3}\n"))
    assert str(exc) == (
        f"{path}:3:18: unknown key 'model_cals' in budget (did you mean 'model_calls'?)"
    )
    assert exc.key == "budget.model_cals"
    exc, path = error(folder, simple("", "agents:\n  a:\n    budget: {tokenz: 3}\n"))
    assert str(exc) == (
        f"{path}:5:14: unknown key 'tokenz' in agents.a.budget (did you mean 'tokens'?)"
    )
    exc, path = error(folder, simple("limits: {max_fanuot: 3}\nloops: {enabled: false}\n"))
    assert (
        str(exc) == f"{path}:3:10: unknown key 'max_fanuot' in limits (did you mean 'max_fanout'?)"
    )


def test_negative_or_wrong_budget_values(folder: Path) -> None:
    exc, path = error(folder, simple("budget: {usd: -0.5}\n"))
    assert str(exc) == f"{path}:3:15: budget.usd: must be at least 0, got -0.5"
    assert exc.key == "budget.usd"
    exc, path = error(folder, simple("budget: {seconds: 0}\n"))
    assert str(exc) == f"{path}:3:19: budget.seconds: must be more than 0, got 0"
    exc, path = error(folder, simple("loops: {similarity: 2}\n"))
    assert str(exc) == f"{path}:3:21: loops.similarity: must be at most 1, got 2"
    exc, path = error(
        folder,
        """\
        version: 1
        name: t
        agents: {a: {}}
        team:
          pattern: pipeline
          budget: {usd: 1}
          stages: [a]
        """,
    )
    assert str(exc) == (
        f"{path}:6:3: team.budget: the root team's budget is the run's budget; "
        "write it as the top-level `budget:` key"
    )


def test_a_check_has_exactly_one_kind(folder: Path) -> None:
    exc, path = error(
        folder,
        simple(
            """\
verify:
  - target: final
    command: pytest -q
    file_exists: report.md
"""
        ),
    )
    assert str(exc) == (
        f"{path}:6:5: verify[0].file_exists: a check has one kind, but this one also has "
        "'command'; make them two checks"
    )
    assert exc.key == "verify[0].file_exists"
    exc, path = error(folder, simple("verify: [{target: notes}]\n"))
    assert str(exc) == (
        f"{path}:3:10: verify[0]: a check needs one of json_schema, predicate, command, file_exists"
    )
    exc, path = error(folder, simple("verify: [{file_exists: x, timeout: 3}]\n"))
    assert str(exc) == f"{path}:3:27: verify[0].timeout: timeout applies only to a command check"
    exc, path = error(folder, simple("verify: [{json_schema: {type: 3}}]\n"))
    assert exc.key == "verify[0].json_schema" and (exc.line, exc.column) == (3, 24)
    assert "not a valid JSON schema" in exc.message


def test_bad_predicate_import_paths(folder: Path) -> None:
    exc, path = error(folder, simple('verify: [{predicate: "guard_code:long_enuf"}]\n'))
    assert str(exc) == (
        f"{path}:3:22: verify[0].predicate: cannot import predicate 'guard_code:long_enuf': "
        "module 'guard_code' has no attribute 'long_enuf' (did you mean 'long_enough'?)"
    )
    exc, path = error(folder, simple('verify: [{predicate: "guard_code:two"}]\n'))
    assert "'two' must take 1 argument (the value checked)" in str(exc)
    exc, path = error(folder, simple("verify: [{predicate: not-a-path}]\n"))
    assert str(exc) == (
        f"{path}:3:22: verify[0].predicate: function import path must look like "
        "'package.module:function', not 'not-a-path'"
    )


def test_tool_and_stage_approval_errors(folder: Path) -> None:
    tools = 'agents:\n  a:\n    tools:\n      - {use: "os.path:exists", aproval: true}\n'
    exc, path = error(folder, simple("", tools))
    assert str(exc) == (
        f"{path}:6:33: unknown key 'aproval' in agents.a.tools[0] (did you mean 'approval'?)"
    )
    tools = 'agents:\n  a:\n    tools:\n      - {use: "os.path:exists", approval_timeout: 9}\n'
    exc, path = error(folder, simple("", tools))
    assert str(exc) == (
        f"{path}:6:51: agents.a.tools[0].approval_timeout: tool 'exists' does not need "
        "approval; add `approval: true`"
    )
    tools = 'agents:\n  a:\n    tools:\n      - {use: "os.path:exits"}\n'
    exc, path = error(folder, simple("", tools))
    assert exc.key == "agents.a.tools[0].use" and (exc.line, exc.column) == (6, 15)
    assert "(did you mean 'exists'?)" in exc.message
    exc, path = error(
        folder,
        "version: 1\nname: t\nagents: {a: {}}\n"
        "team: {pattern: pipeline, stages: [{use: a, approval_timeout: 5}]}\n",
    )
    assert str(exc) == f"{path}:4:36: team.stages[0]: approval_timeout needs `approval: true`"


def test_a_spec_cannot_remove_approval_its_tool_requires(folder: Path) -> None:
    (folder / "risky_tools.py").write_text(
        "from podium import tool\n\n\n@tool(effect='write', needs_approval=True)\n"
        "def send(to: str) -> str:\n    '''Send.'''\n    return to\n",
        encoding="utf-8",
    )
    try:
        tools = 'agents:\n  a:\n    tools: [{use: "risky_tools:send", approval: false}]\n'
        exc, path = error(folder, simple("", tools))
        assert str(exc) == (
            f"{path}:5:49: agents.a.tools[0].approval: tool 'send' requires approval in "
            "its code; a spec cannot turn that off"
        )
        tools = 'agents:\n  a:\n    tools: [{use: "risky_tools:send", approval_timeout: 5}]\n'
        (send,) = load_spec(write(folder, simple("", tools))).build()._stages[0].runnable.tools
        assert send.needs_approval and send.approval_timeout == 5
    finally:
        sys.modules.pop("risky_tools", None)


# --- running with them -------------------------------------------------------------------------

PRICED = """\
version: 1
name: priced
defaults: {model: "scripted:priced", max_tokens: 400}
{budget}
agents:
  first: {role: starts}
  second: {role: continues}
  third: {role: finishes}
team: {pattern: pipeline, stages: [first, second, third]}
prices:
  "scripted:priced": {input: 100.0, output: 400.0}
"""


def run_json(path: Path, *args: str) -> dict[str, Any]:
    done = runner.invoke(
        app, ["run", str(path), "Write a haiku", "--json", "--store", "memory", *args]
    )
    assert done.exit_code in (0, 1), done.output
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def test_a_spec_budget_stops_the_run_within_its_cap(tmp_path: Path) -> None:
    free = run_json(write(tmp_path, PRICED.replace("{budget}", "")))
    assert free["stop_reason"] == "completed"
    one_run = free["usage"]["total"]["cost_usd"]
    assert free["usage"]["total"]["model_calls"] == 3 and one_run > 0

    # The answers are shorter than min_output_tokens, so a call the budget clamps is
    # never cut short; a cap of one run's cost allows the first call, not all three
    # (a call needs room for its input bound plus 100 output tokens: about $0.05).
    budget = f"budget: {{usd: {one_run}, min_output_tokens: 100}}"
    capped = run_json(write(tmp_path, PRICED.replace("{budget}", budget)))
    assert capped["stop_reason"] == "budget"
    assert 0 < capped["usage"]["total"]["cost_usd"] <= one_run
    assert 1 <= capped["usage"]["total"]["model_calls"] < 3
    assert capped["output"] is None and "budget" in capped["error"]


def test_budget_usd_on_the_command_line_caps_a_spec_with_a_larger_budget(tmp_path: Path) -> None:
    budget = "budget: {usd: 100, model_calls: 50, min_output_tokens: 100}"
    path = write(tmp_path, PRICED.replace("{budget}", budget))
    free = run_json(path)
    assert free["stop_reason"] == "completed"
    cap = free["usage"]["total"]["cost_usd"]
    capped = run_json(path, "--budget-usd", str(cap))
    assert capped["stop_reason"] == "budget"
    assert 0 < capped["usage"]["total"]["cost_usd"] <= cap
    calls = run_json(path, "--max-calls", "1")
    assert calls["stop_reason"] == "budget" and calls["usage"]["total"]["model_calls"] == 1


def test_limits_and_checks_from_the_spec_apply_to_the_run(folder: Path) -> None:
    checked = simple('verify: [{predicate: "guard_code:never"}]\n')
    result = load_spec(write(folder, checked)).build().run_sync("go", store=MemoryStore())
    assert result.stop_reason is StopReason.VERIFICATION_FAILED
    assert "guard_code:never" in (result.error or "")
    looping = simple("limits: {max_turns: 1}\n", 'agents:\n  a: {tools: ["os.path:isfile"]}\n')
    result = load_spec(write(folder, looping)).build().run_sync("go", store=MemoryStore())
    assert result.stop_reason is StopReason.MAX_TURNS


def test_budget_usd_on_the_command_line_can_also_raise_a_spec_budget(tmp_path: Path) -> None:
    free = run_json(write(tmp_path, PRICED.replace("{budget}", "")))
    one_run = free["usage"]["total"]["cost_usd"]
    tight = f"budget: {{usd: {one_run / 10}, min_output_tokens: 100}}"
    path = write(tmp_path, PRICED.replace("{budget}", tight))
    assert run_json(path)["stop_reason"] == "budget"
    raised = run_json(path, "--budget-usd", str(one_run * 10))
    assert raised["stop_reason"] == "completed"


def test_a_list_of_models_is_a_fallback_chain(folder: Path) -> None:
    from podium.models import FallbackModel

    spec = load_spec(
        write(folder, simple("", "agents:\n  a: {model: [scripted:first, scripted:second]}\n"))
    )
    team = spec.build()
    agent = team.stages[0]  # type: ignore[union-attr]
    agent = getattr(agent, "runnable", agent)
    assert isinstance(agent.model, FallbackModel)
    assert [m.name for m in agent.model.models] == ["scripted:first", "scripted:second"]
    assert team.run_sync("go", store=MemoryStore()).ok
    exc, path = error(folder, simple("", "agents:\n  a: {model: [scripted:x, opnai:gpt-4o]}\n"))
    assert str(exc).startswith(f"{path}:4:")
    assert "item 1: unknown model 'opnai:gpt-4o' (did you mean 'openai:gpt-4o'?)" in str(exc)
    assert exc.key == "agents.a.model"


def test_a_fallback_chain_of_real_providers_builds_and_estimates_without_keys(
    folder: Path,
) -> None:
    # like a single "openai:..." model, a chain is resolved when the run calls it,
    # so building the team and `podium estimate` need no API keys
    chain = 'agents:\n  a: {model: ["openai:gpt-4o-mini", "anthropic:claude-haiku-4-5"]}\n'
    path = write(folder, simple("", chain))
    team = load_spec(path).build()
    stage = team.stages[0]  # type: ignore[union-attr]
    assert [m.name for m in stage.runnable.model.models] == [
        "openai:gpt-4o-mini",
        "anthropic:claude-haiku-4-5",
    ]
    done = runner.invoke(app, ["estimate", str(path), "Write a haiku", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["worst"]["usd"] > 0
