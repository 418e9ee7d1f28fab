"""YAML team specs: exact error positions, safe loading, building and running a team."""

from __future__ import annotations

import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from podium import MemoryStore, Orchestrator, StopReason, Tool
from podium.errors import ConfigError, SpecError
from podium.models._pricing import get_price
from podium.spec import TeamSpec, load_spec, parse_spec

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "research_team" / "team.yaml"

TEAM = """\
    team:
      pattern: orchestrator
      planner: lead
      workers: [researcher, writer]
"""


@pytest.fixture(autouse=True)
def _restore_modules(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Forget tool modules a test imported from its folders; check sys.path is restored."""
    before_modules = set(sys.modules)
    before_path = list(sys.path)
    yield
    roots = (tmp_path_factory.getbasetemp().resolve(), EXAMPLE.parent)
    for name in set(sys.modules) - before_modules:
        origin = getattr(sys.modules[name], "__file__", None) or ""
        if any(Path(origin).resolve().is_relative_to(root) for root in roots if origin):
            del sys.modules[name]
    assert sys.path == before_path


def write(tmp_path: Path, text: str, name: str = "team.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def spec_error(tmp_path: Path, text: str) -> tuple[SpecError, Path]:
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    return info.value, path


def agents_spec(agents: str, team: str = TEAM) -> str:
    agents = textwrap.indent(textwrap.dedent(agents), "  ")
    return f"version: 1\nname: t\nagents:\n{agents}{textwrap.dedent(team)}"


# --- YAML syntax -------------------------------------------------------------------------


def test_bad_indentation_points_at_the_offending_line(tmp_path: Path) -> None:
    exc, path = spec_error(
        tmp_path,
        """\
        version: 1
        name: t
        agents:
          lead:
            role: plans
           instructions: oops
        """,
    )
    assert (exc.line, exc.column) == (6, 4)
    assert str(exc).startswith(f"{path}:6:4: invalid YAML: ")
    assert "check the indentation" in str(exc)


def test_tab_indentation_is_reported_with_a_hint(tmp_path: Path) -> None:
    exc, path = spec_error(tmp_path, "version: 1\nagents:\n\tlead: {}\n")
    assert str(exc).startswith(f"{path}:3:1: invalid YAML: ")
    assert "not tabs" in exc.message


def test_unclosed_quote_names_where_the_string_started(tmp_path: Path) -> None:
    exc, _ = spec_error(tmp_path, "version: 1\nname: 'abc\nagents: {}\n")
    assert (exc.line, exc.column) == (4, 1)  # where the scanner gave up: end of file
    assert "quoted scalar at line 2, column 7" in exc.message


def test_empty_file_and_non_mapping_top_level(tmp_path: Path) -> None:
    exc, path = spec_error(tmp_path, "# only a comment\n")
    assert str(exc) == (
        f"{path}:1:1: the spec is empty; expected a mapping with version, name, agents and team"
    )
    exc, path = spec_error(tmp_path, "- a\n- b\n")
    assert str(exc) == (
        f"{path}:1:1: the spec must be a mapping with version, name, agents and team, not a list"
    )


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    exc, path = spec_error(
        tmp_path,
        agents_spec(
            """\
            lead: {role: a}
            researcher: {}
            writer: {}
            lead: {role: b}
            """
        ),
    )
    assert str(exc) == f"{path}:7:3: duplicate key 'lead' in agents (first at line 4)"
    assert exc.key == "agents.lead"


def test_a_key_written_next_to_a_merge_key_is_reported_where_it_is_written(
    tmp_path: Path,
) -> None:
    exc, path = spec_error(
        tmp_path,
        """\
        version: 1
        name: t
        x-base: &base {rol: a}
        agents:
          lead:
            <<: *base
            rol: b
        team: {pattern: pipeline, stages: [lead]}
        """,
    )
    assert str(exc) == f"{path}:7:5: unknown key 'rol' in agents.lead (did you mean 'role'?)"


# --- safety ------------------------------------------------------------------------------


def test_python_tags_are_rejected_without_running_anything(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    exc, path = spec_error(
        tmp_path,
        f"""\
        version: 1
        name: !!python/object/apply:os.system ["touch {marker}"]
        """,
    )
    assert str(exc).startswith(
        f"{path}:2:7: name: unsupported YAML tag '!!python/object/apply:os.system'"
    )
    assert exc.key == "name"
    assert not marker.exists()


def test_custom_tags_are_rejected(tmp_path: Path) -> None:
    exc, _ = spec_error(tmp_path, "version: 1\nname: t\ndescription: !include other.yaml\n")
    assert (exc.line, exc.column, exc.key) == (3, 14, "description")
    assert "unsupported YAML tag '!include'" in exc.message


def test_alias_bomb_is_refused_fast(tmp_path: Path) -> None:
    lines = ["version: 1", 'x-a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"x-{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    path = write(tmp_path, "\n".join(lines) + "\n")
    started = time.perf_counter()
    with pytest.raises(SpecError, match="more than 100000 YAML nodes") as info:
        load_spec(path)
    assert time.perf_counter() - started < 1.0
    assert info.value.line is not None


def test_recursive_alias_and_deep_nesting_are_refused(tmp_path: Path) -> None:
    exc, _ = spec_error(tmp_path, "version: 1\nx-a: &a [1, *a]\n")
    assert "alias refers to a node that contains it" in exc.message
    with pytest.raises(SpecError, match="nested more than 64 levels"):
        parse_spec("a: " + "[" * 500 + "]" * 500)


def test_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("version: 1\n" + "# padding\n" * 120_000, encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(SpecError, match="larger than 1024 KiB") as info:
        load_spec(path)
    assert time.perf_counter() - started < 0.5
    assert info.value.file == str(path)
    with pytest.raises(SpecError, match="larger than 1024 KiB"):
        parse_spec("#" * ((1 << 20) + 1))


# --- schema errors -----------------------------------------------------------------------


def test_unknown_key_suggests_the_close_one(tmp_path: Path) -> None:
    exc, path = spec_error(
        tmp_path,
        agents_spec(
            """\
            lead: {}
            researcher:
              role: finds sources
              instructons: search first
            writer: {}
            """
        ),
    )
    assert str(exc) == (
        f"{path}:7:5: unknown key 'instructons' in agents.researcher (did you mean 'instructions'?)"
    )
    assert exc.key == "agents.researcher.instructons"


def test_unknown_top_level_key(tmp_path: Path) -> None:
    exc, path = spec_error(tmp_path, "version: 1\nname: t\nagent: {}\n")
    assert str(exc) == f"{path}:3:1: unknown key 'agent' in the spec (did you mean 'agents'?)"


def test_wrong_type_points_at_the_value(tmp_path: Path) -> None:
    exc, path = spec_error(
        tmp_path,
        agents_spec(
            """\
            lead: {}
            researcher:
              max_turns: many
            writer: {}
            """
        ),
    )
    assert str(exc) == f"{path}:6:16: agents.researcher.max_turns: expected an integer, got 'many'"
    assert exc.key == "agents.researcher.max_turns"


@pytest.mark.parametrize(
    ("line", "where", "words"),
    [
        ("max_turns: true", "agents.researcher.max_turns", "expected an integer, got true"),
        ("max_turns: yes", "agents.researcher.max_turns", "expected an integer, got true"),
        ("max_tokens: '800'", "agents.researcher.max_tokens", "expected an integer, got '800'"),
        ("temperature: false", "agents.researcher.temperature", "expected a number, got false"),
    ],
)
def test_numbers_are_never_read_from_booleans_or_text(
    tmp_path: Path, line: str, where: str, words: str
) -> None:
    # YAML reads `yes` as true; `max_turns: true` must not quietly become 1
    text = agents_spec(f"lead: {{}}\nresearcher:\n  {line}\nwriter: {{}}\n")
    exc, _ = spec_error(tmp_path, text)
    assert exc.key == where and words in str(exc)


@pytest.mark.parametrize("value", [".inf", ".nan"])
def test_a_budget_that_caps_nothing_is_a_located_error(tmp_path: Path, value: str) -> None:
    text = agents_spec("lead: {}\nresearcher: {}\nwriter: {}\n") + f"budget:\n  usd: {value}\n"
    exc, path = spec_error(tmp_path, text)
    assert str(exc) == f"{path}:12:8: budget.usd: input should be a finite number"


def test_handoffs_of_an_agent_in_no_handoffs_team_are_an_error(tmp_path: Path) -> None:
    text = agents_spec("lead: {}\nresearcher: {handoffs: [writer]}\nwriter: {}\n")
    exc, path = spec_error(tmp_path, text)
    assert exc.key == "agents.researcher.handoffs"
    assert str(exc).startswith(f"{path}:5:16: agents.researcher.handoffs: researcher hands off, ")


def test_a_misspelt_window_says_what_it_takes(tmp_path: Path) -> None:
    text = (
        "version: 1\nname: chat\nagents:\n  a: {}\n  b: {}\n"
        "team:\n  pattern: group_chat\n  participants: [a, b]\n  window: aut\n"
    )
    exc, path = spec_error(tmp_path, text)
    assert str(exc) == (
        f"{path}:9:11: team.window: expected a number of messages, 'auto' or null, got 'aut'"
    )


def test_missing_required_key_points_at_the_parent_mapping(tmp_path: Path) -> None:
    exc, path = spec_error(
        tmp_path,
        agents_spec(
            "lead: {}\n",
            """\
            team:
              pattern: orchestrator
              workers: [lead]
            """,
        ),
    )
    assert str(exc) == f"{path}:6:3: missing required key 'planner' in team"
    assert exc.key == "team.planner"


def test_unknown_pattern_is_reported_at_its_value(tmp_path: Path) -> None:
    exc, _ = spec_error(
        tmp_path,
        agents_spec(
            "lead: {}\n", "team: {pattern: orchestrater, planner: lead, workers: [lead]}\n"
        ),
    )
    assert (exc.line, exc.column, exc.key) == (5, 17, "team.pattern")
    assert "unknown pattern 'orchestrater' (did you mean 'orchestrator'?)" in exc.message


def test_unsupported_version(tmp_path: Path) -> None:
    exc, path = spec_error(tmp_path, "version: 2\nname: t\n")
    assert str(exc) == (
        f"{path}:1:10: version: unsupported spec version 2; this podium reads version 1"
    )


@pytest.mark.parametrize("value", ["true", "'1'", "1.0"])
def test_version_is_the_number_1_not_something_read_as_1(tmp_path: Path, value: str) -> None:
    text = agents_spec("lead: {}\nresearcher: {}\nwriter: {}\n").replace(
        "version: 1", f"version: {value}"
    )
    exc, path = spec_error(tmp_path, text)
    assert str(exc).startswith(f"{path}:1:10: version: expected an integer, got ")


def test_model_with_unknown_provider(tmp_path: Path) -> None:
    exc, _ = spec_error(
        tmp_path,
        agents_spec(
            """\
            lead: {model: "opnai:gpt-4o"}
            researcher: {}
            writer: {}
            """
        ),
    )
    assert (exc.line, exc.column, exc.key) == (4, 17, "agents.lead.model")
    assert "unknown model 'opnai:gpt-4o' (did you mean 'openai:gpt-4o'?)" in exc.message


def test_missing_agent_reference_suggests_the_close_one(tmp_path: Path) -> None:
    exc, path = spec_error(
        tmp_path,
        agents_spec(
            """\
            lead: {}
            researcher: {}
            writer: {}
            """,
            """\
            team:
              pattern: orchestrator
              planner: lead
              workers: [researcher, writter]
            """,
        ),
    )
    assert str(exc) == (
        f"{path}:10:25: team.workers[1]: no agent named 'writter' (did you mean 'writer'?)"
    )
    assert exc.key == "team.workers[1]"


def test_undefined_planner_and_doubly_listed_worker(tmp_path: Path) -> None:
    exc, path = spec_error(
        tmp_path,
        agents_spec(
            "lead: {}\n", "team: {pattern: orchestrator, planner: boss, workers: [lead]}\n"
        ),
    )
    assert str(exc) == f"{path}:5:40: team.planner: no agent named 'boss'; defined agents: lead"
    exc, path = spec_error(
        tmp_path,
        agents_spec(
            "lead: {}\n", "team: {pattern: orchestrator, planner: lead, workers: [lead, lead]}\n"
        ),
    )
    assert str(exc) == f"{path}:5:62: team.workers[1]: 'lead' is listed twice"


# --- tools -------------------------------------------------------------------------------


def tool_spec(tool_path: str) -> str:
    return agents_spec(
        f"""\
        lead: {{}}
        researcher:
          tools: ["{tool_path}"]
        writer: {{}}
        """
    )


def test_tool_module_not_found(tmp_path: Path) -> None:
    exc, path = spec_error(tmp_path, tool_spec("no_such_module_xyz:search"))
    assert str(exc) == (
        f"{path}:6:13: agents.researcher.tools[0]: cannot import tool "
        "'no_such_module_xyz:search': module 'no_such_module_xyz' not found "
        "(looked in the spec's folder and sys.path)"
    )
    assert exc.key == "agents.researcher.tools[0]"


def test_tool_attribute_missing_suggests_the_close_one(tmp_path: Path) -> None:
    (tmp_path / "spec_tools_attr.py").write_text("def search_web(q: str) -> str:\n    return q\n")
    exc, path = spec_error(tmp_path, tool_spec("spec_tools_attr:serch_web"))
    assert str(exc) == (
        f"{path}:6:13: agents.researcher.tools[0]: cannot import tool "
        "'spec_tools_attr:serch_web': module 'spec_tools_attr' has no attribute 'serch_web' "
        "(did you mean 'search_web'?)"
    )


def test_tool_that_is_not_callable_or_badly_written(tmp_path: Path) -> None:
    (tmp_path / "spec_tools_nc.py").write_text("LIMIT = 3\n")
    exc, _ = spec_error(tmp_path, tool_spec("spec_tools_nc:LIMIT"))
    assert exc.message.endswith("'LIMIT' is int, not a function or podium.Tool")
    exc, _ = spec_error(tmp_path, tool_spec("spec_tools_nc.LIMIT"))
    assert (exc.line, exc.column) == (6, 13)
    assert "must look like 'package.module:function'" in exc.message


def test_tool_module_that_fails_to_import(tmp_path: Path) -> None:
    (tmp_path / "spec_tools_broken.py").write_text("raise RuntimeError('boom')\n")
    exc, _ = spec_error(tmp_path, tool_spec("spec_tools_broken:x"))
    assert "importing 'spec_tools_broken' failed: RuntimeError: boom" in exc.message


def test_tool_module_that_exits_on_import_is_a_located_error(tmp_path: Path) -> None:
    # e.g. a script's argparse at module level, which exits on podium's own arguments
    (tmp_path / "spec_tools_exits.py").write_text("import sys\nsys.exit(2)\n")
    exc, path = spec_error(tmp_path, tool_spec("spec_tools_exits:x"))
    assert str(exc) == (
        f"{path}:6:13: agents.researcher.tools[0]: cannot import tool 'spec_tools_exits:x': "
        "importing 'spec_tools_exits' failed: it called sys.exit(2)"
    )


def test_tool_module_next_to_another_spec_is_not_confused(tmp_path: Path) -> None:
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "spec_tools_twin.py").write_text(
            f"def search(q: str) -> str:\n    return {folder!r}\n"
        )
        write(tmp_path / folder, tool_spec("spec_tools_twin:search"))
    first = load_spec(tmp_path / "one" / "team.yaml").build()
    assert first.workers[0].tools[0]("x") == "one"
    with pytest.raises(SpecError, match="a different module 'spec_tools_twin' is already imported"):
        load_spec(tmp_path / "two" / "team.yaml")


def test_tool_from_a_package_next_to_the_spec(tmp_path: Path) -> None:
    (tmp_path / "spec_pkg").mkdir()
    (tmp_path / "spec_pkg" / "__init__.py").write_text("")
    (tmp_path / "spec_pkg" / "tools.py").write_text(
        "class Kit:\n    @staticmethod\n    def search(q: str) -> str:\n        return q\n"
    )
    spec = load_spec(write(tmp_path, tool_spec("spec_pkg.tools:Kit.search")))
    assert [t.name for t in spec.build().workers[0].tools] == ["search"]


def test_spec_made_in_code_is_checked_at_build() -> None:
    spec = TeamSpec.model_validate(
        {
            "version": 1,
            "name": "t",
            "agents": {"lead": {}, "writer": {"tools": ["json:dumps"]}},
            "team": {"pattern": "orchestrator", "planner": "lead", "workers": ["writr"]},
        }
    )
    with pytest.raises(SpecError, match=r"team.workers\[0\]: no agent named 'writr'") as info:
        spec.build()
    assert (info.value.file, info.value.line) == ("<spec>", None)


# --- a valid spec ------------------------------------------------------------------------

VALID = """\
version: 1
name: research-team
description: researches and writes
defaults:
  model: scripted:demo
  max_turns: 5
  max_tokens: 500
inputs:
  topic: {description: what to research}
  audience: {default: engineers}
x-common: &common
  temperature: 0.3
agents:
  lead:
    role: plans the work and writes the final answer
  researcher:
    <<: *common
    role: finds sources
    instructions: Search, then list facts.
    tools: ["spec_tools_ok:search_notes", "spec_tools_ok:word_count"]
    max_turns: 3
  writer:
    role: writes the report from the findings
    model: scripted:writer
team:
  pattern: orchestrator
  planner: lead
  workers: [researcher, writer]
  max_concurrency: 2
prices:
  "openai:spec-test-finetune": {input: 1.5, output: 2.5}
"""

TOOLS = '''\
from podium import tool


@tool
def search_notes(query: str) -> list[str]:
    """Search the notes."""
    return [f"note about {query}"]


def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())
'''


@pytest.fixture
def valid_spec(tmp_path: Path) -> TeamSpec:
    (tmp_path / "spec_tools_ok.py").write_text(TOOLS, encoding="utf-8")
    return load_spec(write(tmp_path, VALID))


def test_valid_spec_builds_the_team(valid_spec: TeamSpec) -> None:
    team = valid_spec.build()
    assert isinstance(team, Orchestrator)
    assert (team.name, team.role) == ("research-team", "researches and writes")
    assert team.planner.name == "lead" and team.aggregator is None
    assert team.max_concurrency == 2
    researcher, writer = team.workers
    assert researcher.role == "finds sources"
    assert [t.name for t in researcher.tools] == ["search_notes", "word_count"]
    assert all(isinstance(t, Tool) for t in researcher.tools)
    assert (researcher.max_turns, researcher.max_tokens, researcher.temperature) == (3, 500, 0.3)
    assert (researcher.model, writer.model, team.planner.model) == (
        "scripted:demo",
        "scripted:writer",
        "scripted:demo",
    )
    assert writer.max_turns == 5 and writer.temperature is None


def test_valid_spec_runs_offline_end_to_end(valid_spec: TeamSpec) -> None:
    inputs = valid_spec.resolve_inputs({"topic": "sqlite"})
    task = valid_spec.render_task("Write about {topic} for {audience}.", inputs)
    assert task == "Write about sqlite for engineers."
    result = valid_spec.build().run_sync(task, store=MemoryStore(), inputs=inputs)
    assert result.stop_reason == StopReason.COMPLETED
    assert result.output


def test_build_model_override(valid_spec: TeamSpec) -> None:
    team = valid_spec.build(model="scripted:other")
    assert {w.model for w in team.workers} | {team.planner.model} == {"scripted:other"}
    with pytest.raises(ConfigError, match="unknown model 'gpt-4o'"):
        valid_spec.build(model="gpt-4o")


def test_model_defaults_to_default_model_name(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("PODIUM_MODEL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    spec = parse_spec(agents_spec("lead: {}\nresearcher: {}\nwriter: {}\n"))
    assert spec.build().planner.model == "scripted:demo"
    monkeypatch.setenv("PODIUM_MODEL", "scripted:env")
    assert spec.build().planner.model == "scripted:env"


def test_prices_are_applied(valid_spec: TeamSpec) -> None:
    valid_spec.build()
    price = get_price("openai:spec-test-finetune")
    assert price is not None and (price.input, price.output) == (1.5, 2.5)


def test_example_spec_loads_and_runs() -> None:
    spec = load_spec(EXAMPLE)
    result = spec.build(model="scripted:demo").run_sync("SQLite or Postgres?", store=MemoryStore())
    assert result.stop_reason == StopReason.COMPLETED


# --- inputs ------------------------------------------------------------------------------


def test_missing_required_input_points_at_inputs_key(valid_spec: TeamSpec, tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        valid_spec.resolve_inputs({})
    assert str(info.value) == (
        f"{tmp_path / 'team.yaml'}:8:1: missing required input 'topic' (what to research)"
    )
    assert info.value.key == "inputs.topic"


def test_unknown_input_is_an_error(valid_spec: TeamSpec) -> None:
    with pytest.raises(SpecError, match=r"unknown input 'topik' \(did you mean 'topic'\?\)") as i:
        valid_spec.resolve_inputs({"topic": "x", "topik": "y"})
    assert (i.value.line, i.value.column, i.value.key) == (8, 1, "inputs.topik")


def test_resolve_inputs_applies_defaults(valid_spec: TeamSpec) -> None:
    assert valid_spec.resolve_inputs({"topic": "x"}) == {"topic": "x", "audience": "engineers"}
    assert valid_spec.resolve_inputs({"topic": "x", "audience": "cats"})["audience"] == "cats"


def test_render_task_is_a_plain_substitution(valid_spec: TeamSpec) -> None:
    render = valid_spec.render_task
    assert render("{topic} / {unknown} / {topic.__class__} / {0}", {"topic": "T"}) == (
        "T / {unknown} / {topic.__class__} / {0}"
    )
    # substituted values are not expanded again
    assert render("{topic}", {"topic": "{audience}"}) == "{audience}"
    assert render("for {audience}", {}) == "for engineers"


def test_input_with_default_and_required_is_contradictory(tmp_path: Path) -> None:
    exc, path = spec_error(
        tmp_path, "version: 1\nname: t\ninputs:\n  topic: {required: true, default: x}\n"
    )
    assert str(exc) == (
        f"{path}:4:10: inputs.topic: an input with a default is not required; drop one of the two"
    )


# --- patterns, nesting and the blackboard -------------------------------------------------

TEAM_CODE = """\
from pydantic import BaseModel


class Case(BaseModel):
    customer: str


class Report(BaseModel):
    notes: str
    draft: str


def has_text(output):
    return None if str(output).strip() else "empty"


def two_args(a, b):
    return a


def pick_first(messages, names):
    return names[0]


def enough(messages):
    return len(messages) >= 2


NOT_A_MODEL = 3
"""

AGENTS = """\
version: 1
name: t
agents:
  lead: {}
  researcher: {writes: [notes]}
  writer: {reads: [notes], writes: [draft]}
  editor: {reads: [draft]}
"""


@pytest.fixture
def team_code(tmp_path: Path) -> Path:
    (tmp_path / "spec_team_code.py").write_text(TEAM_CODE, encoding="utf-8")
    return tmp_path


def team_error(folder: Path, text: str) -> tuple[SpecError, Path]:
    return spec_error(folder, AGENTS + textwrap.dedent(text))


def test_unknown_stage_reference_suggests_the_close_one(team_code: Path) -> None:
    exc, path = team_error(
        team_code,
        """\
        team:
          pattern: pipeline
          stages:
            - researcher
            - {use: writr, check: "spec_team_code:has_text"}
        """,
    )
    assert str(exc) == (
        f"{path}:12:13: team.stages[1].use: no agent named 'writr' (did you mean 'writer'?)"
    )
    assert exc.key == "team.stages[1].use"
    exc, path = team_error(team_code, "team: {pattern: pipeline, stages: [researcher, edtor]}\n")
    assert (
        str(exc) == f"{path}:8:48: team.stages[1]: no agent named 'edtor' (did you mean 'editor'?)"
    )


def test_unknown_participant_of_a_named_team_suggests_agents_and_teams(tmp_path: Path) -> None:
    exc, path = team_error(
        tmp_path,
        """\
        teams:
          review:
            pattern: group_chat
            participants: [writer, editr]
          docs: {pattern: pipeline, stages: [writer, revew]}
        team: {pattern: orchestrator, planner: lead, workers: [researcher, docs]}
        """,
    )
    assert str(exc) == (
        f"{path}:11:28: teams.review.participants[1]: no agent or team named 'editr' "
        "(did you mean 'editor'?)"
    )
    exc, path = team_error(
        tmp_path,
        """\
        teams:
          docs: {pattern: pipeline, stages: [writer, editor]}
        team: {pattern: orchestrator, planner: lead, workers: [researcher, dcs]}
        """,
    )
    assert str(exc) == (
        f"{path}:10:68: team.workers[1]: no agent or team named 'dcs' (did you mean 'docs'?)"
    )
    exc, path = team_error(
        tmp_path,
        """\
        teams:
          docs: {pattern: pipeline, stages: [writer, editor]}
        team: {pattern: orchestrator, planner: lead, workers: [zzz]}
        """,
    )
    assert exc.message.endswith(
        "no agent or team named 'zzz'; defined agents: lead, researcher, writer, editor; "
        "teams: docs"
    )


def test_team_cycle_is_an_error_at_the_reference_that_closes_it(tmp_path: Path) -> None:
    exc, path = team_error(
        tmp_path,
        """\
        teams:
          outer:
            pattern: orchestrator
            planner: lead
            workers: [researcher, inner]
          inner:
            pattern: pipeline
            stages: [writer, outer]
        team: {pattern: pipeline, stages: [outer]}
        """,
    )
    assert str(exc) == (
        f"{path}:15:22: teams.inner.stages[1]: the teams form a cycle (outer -> inner -> outer); "
        "a team cannot contain itself"
    )
    exc, _ = team_error(
        tmp_path,
        "teams:\n  loop: {pattern: pipeline, stages: [loop]}\n"
        "team: {pattern: pipeline, stages: [loop]}\n",
    )
    assert (exc.line, exc.key) == (9, "teams.loop.stages[0]")
    assert "(loop -> loop)" in exc.message


@pytest.mark.parametrize("reverse", [False, True])
def test_teams_nested_too_deep_are_a_located_error(tmp_path: Path, reverse: bool) -> None:
    # a chain of 2,000 teams, each in the next: refused, not a RecursionError (listing
    # the innermost team first must not get round the check)
    chain = [
        f"  t{i}: {{pattern: pipeline, stages: [{f't{i + 1}' if i < 1999 else 'writer'}]}}\n"
        for i in range(2000)
    ]
    exc, _ = team_error(
        tmp_path,
        "teams:\n"
        + "".join(reversed(chain) if reverse else chain)
        + "team: {pattern: pipeline, stages: [t0]}\n",
    )
    assert "teams are nested more than 64 levels deep" in exc.message
    assert exc.line is not None and exc.key is not None
    assert exc.key.startswith("teams.t") and exc.key.endswith(".stages[0]")
    # 64 levels are fine, and they build
    deepest = "".join(chain[-64:]) + "team: {pattern: pipeline, stages: [t1936]}\n"
    assert parse_spec(AGENTS + "teams:\n" + deepest).build().name == "t"


def test_team_and_agent_names_are_unique(tmp_path: Path) -> None:
    exc, path = team_error(
        tmp_path,
        "teams:\n  writer: {pattern: pipeline, stages: [lead]}\n"
        "team: {pattern: pipeline, stages: [writer]}\n",
    )
    assert str(exc) == (
        f"{path}:9:3: teams.writer: 'writer' is also the name of an agent; "
        "agent and team names must be unique"
    )


def test_unknown_pattern_in_a_named_team_and_missing_pattern(tmp_path: Path) -> None:
    exc, path = team_error(
        tmp_path,
        """\
        teams:
          docs: {pattern: pipline, stages: [writer]}
        team: {pattern: pipeline, stages: [docs]}
        """,
    )
    assert (exc.line, exc.column, exc.key) == (9, 19, "teams.docs.pattern")
    assert exc.message.startswith(
        "teams.docs.pattern: unknown pattern 'pipline' (did you mean 'pipeline'?); expected "
        "'orchestrator', 'pipeline', 'group_chat', 'handoffs'"
    )
    exc, path = team_error(tmp_path, "team: {stages: [writer]}\n")
    assert str(exc) == f"{path}:8:7: missing required key 'pattern' in team"
    exc, path = team_error(
        tmp_path, "team: {pattern: group_chat, participants: [a, b], max_round: 3}\n"
    )
    assert str(exc) == (
        f"{path}:8:51: unknown key 'max_round' in team (did you mean 'max_rounds'?)"
    )


def test_stage_errors(team_code: Path) -> None:
    exc, path = team_error(team_code, "team: {pattern: pipeline, stages: [3]}\n")
    assert str(exc) == (
        f"{path}:8:36: team.stages[0]: a stage is an agent or team name, or a mapping "
        "{use: NAME, check: 'module:function'}, not 3"
    )
    exc, path = team_error(
        team_code, "team: {pattern: pipeline, stages: [{use: writer, chek: 'x:y'}]}\n"
    )
    assert str(exc) == f"{path}:8:50: unknown key 'chek' in team.stages[0] (did you mean 'check'?)"
    exc, path = team_error(team_code, "team: {pattern: pipeline, stages: [writer, writer]}\n")
    assert str(exc) == (
        f"{path}:8:44: team.stages[1]: stage 'writer' appears twice; give one of them a `name:`"
    )
    spec = parse_spec(
        AGENTS + "team: {pattern: pipeline, stages: [writer, {use: writer, name: again}]}\n"
    )
    assert [s.label for s in spec.build()._stages] == ["writer", "again"]


def test_bad_check_import_paths(team_code: Path) -> None:
    def stage(check: str) -> str:
        return f'team: {{pattern: pipeline, stages: [{{use: writer, check: "{check}"}}]}}\n'

    exc, path = team_error(team_code, stage("spec_team_code.has_text"))
    assert str(exc) == (
        f"{path}:8:57: team.stages[0].check: function import path must look like "
        "'package.module:function', not 'spec_team_code.has_text'"
    )
    exc, path = team_error(team_code, stage("spec_team_code:has_txt"))
    assert str(exc) == (
        f"{path}:8:57: team.stages[0].check: cannot import stage check "
        "'spec_team_code:has_txt': module 'spec_team_code' has no attribute 'has_txt' "
        "(did you mean 'has_text'?)"
    )
    exc, _ = team_error(team_code, stage("spec_team_code:two_args"))
    assert exc.message.endswith(
        "'two_args' must take 1 argument (the stage's output), but its signature is (a, b)"
    )
    exc, _ = team_error(team_code, stage("no_such_module_xyz:check"))
    assert "module 'no_such_module_xyz' not found" in exc.message


def test_group_chat_errors(team_code: Path) -> None:
    def chat(extra: str) -> str:
        return f"team: {{pattern: group_chat, participants: [writer, editor]{extra}}}\n"

    exc, path = team_error(team_code, chat(", selector: round-robin"))
    assert str(exc) == (
        f"{path}:8:71: team.selector: unknown selector 'round-robin' (did you mean "
        "'round_robin'?): use 'round_robin', an import path 'package.module:function' or "
        "{agent: NAME}"
    )
    exc, _ = team_error(team_code, chat(", selector: [writer]"))
    assert exc.message == (
        "team.selector: expected 'round_robin', an import path 'package.module:function' "
        "or {agent: NAME}"
    )
    exc, path = team_error(team_code, chat(", selector: {agent: led}"))
    assert str(exc) == (
        f"{path}:8:79: team.selector.agent: no agent named 'led' (did you mean 'lead'?)"
    )
    exc, _ = team_error(team_code, chat(", selector: {agnt: lead}"))
    assert exc.message == "unknown key 'agnt' in team.selector (did you mean 'agent'?)"
    exc, _ = team_error(team_code, chat(", terminate: 'spec_team_code:two_args'"))
    assert exc.key == "team.terminate"
    assert "'two_args' must take 1 argument (the chat messages)" in exc.message
    exc, _ = team_error(team_code, chat(", window: 0"))
    assert exc.message == "team.window: must be at least 1, got 0"
    exc, _ = team_error(team_code, "team: {pattern: group_chat, participants: [writer]}\n")
    assert exc.message == "team.participants: needs at least 2 entries, got 1"


def test_reviewer_is_an_agent_or_a_function(team_code: Path) -> None:
    def orchestrator(reviewer: str) -> str:
        return (
            "team: {pattern: orchestrator, planner: lead, workers: [researcher], "
            f"reviewer: {reviewer}}}\n"
        )

    exc, path = team_error(team_code, orchestrator("edtor"))
    assert (
        str(exc) == f"{path}:8:79: team.reviewer: no agent named 'edtor' (did you mean 'editor'?)"
    )
    exc, _ = team_error(team_code, orchestrator("'spec_team_code:has_text'"))
    assert exc.message.endswith(
        "'has_text' must take 2 arguments (the subtask and its output), "
        "but its signature is (output)"
    )
    exc, _ = team_error(team_code, orchestrator("'not a name'"))
    assert exc.message == (
        "team.reviewer: reviewer must be an agent name or an import path "
        "'package.module:function', not 'not a name'"
    )
    team = parse_spec(AGENTS + orchestrator("editor")).build()
    assert isinstance(team, Orchestrator) and team.reviewer is not None
    assert team.reviewer.name == "editor"


def test_handoff_errors(team_code: Path) -> None:
    spec = """\
    version: 1
    name: t
    agents:
      triage: {handoffs: [billing, tec]}
      billing: {handoff_input: "spec_team_code:Case"}
      tech: {}
      other: {}
    teams:
      desk: {pattern: pipeline, stages: [tech]}
    team: {pattern: handoffs, agents: [triage, billing, tech]}
    """
    exc, path = spec_error(team_code, spec)
    assert str(exc) == (
        f"{path}:4:32: agents.triage.handoffs[1]: no agent named 'tec' (did you mean 'tech'?)"
    )
    exc, path = spec_error(team_code, spec.replace("tec]", "other]"))
    assert str(exc) == (
        f"{path}:4:32: agents.triage.handoffs[1]: triage hands off to 'other', which is not in "
        "the root handoffs team (its agents: triage, billing, tech)"
    )
    exc, _ = spec_error(team_code, spec.replace("tec]", "desk]"))
    assert (
        exc.message
        == "agents.triage.handoffs[1]: 'desk' is a team; an agent hands off only to agents"
    )
    exc, _ = spec_error(team_code, spec.replace("tec]", "triage]"))
    assert exc.message == "agents.triage.handoffs[1]: triage cannot hand off to itself"
    fixed = spec.replace("tec]", "tech]")
    as_member = fixed.replace("[billing, tech]", "[billing]").replace("g, tech]", "g, desk]")
    exc, _ = spec_error(team_code, as_member)
    assert (
        exc.message
        == "team.agents[2]: 'desk' is a team; a member of a handoffs team must be an agent"
    )
    entry = fixed.replace("triage, billing, tech]}", "triage, billing, tech], entry: triag}")
    exc, path = spec_error(team_code, entry)
    assert str(exc) == (
        f"{path}:10:67: team.entry: entry 'triag' is not one of this team's agents "
        "(did you mean 'triage'?); its agents: triage, billing, tech"
    )
    exc, path = spec_error(
        team_code, fixed.replace("spec_team_code:Case", "spec_team_code:NOT_A_MODEL")
    )
    assert str(exc) == (
        f"{path}:5:28: agents.billing.handoff_input: cannot import model "
        "'spec_team_code:NOT_A_MODEL': 'NOT_A_MODEL' is int, not a pydantic model "
        "(a BaseModel class)"
    )


def test_blackboard_declaration_errors(team_code: Path) -> None:
    team = "team: {pattern: pipeline, stages: [a, b]}\n"
    exc, path = spec_error(
        team_code, agents_spec("a: {writes: [notes]}\nb: {reads: [note]}\n", team)
    )
    assert str(exc) == (
        f"{path}:5:15: agents.b.reads[0]: no agent writes 'note' (did you mean 'notes'?)"
    )
    # a key nobody writes and close to nothing may come from elsewhere (e.g. task.t1)
    parse_spec(agents_spec("a: {writes: [notes]}\nb: {reads: [task.t1]}\n", team))
    exc, path = spec_error(team_code, agents_spec("a: {writes: [notes, draft]}\nb: {}\n", team))
    assert str(exc) == (
        f"{path}:4:15: agents.a.writes: a writes several keys, so it needs an output_type: "
        "a pydantic model with a field per key (missing: notes, draft)"
    )
    exc, _ = spec_error(
        team_code,
        agents_spec("a: {writes: [notes, x], output_type: 'spec_team_code:Report'}\nb: {}\n", team),
    )
    assert exc.message.endswith(
        "its output_type 'spec_team_code:Report' needs a field per key (missing: x)"
    )
    exc, _ = spec_error(team_code, agents_spec("a: {writes: ['has space']}\nb: {}\n", team))
    assert exc.key == "agents.a.writes[0]"
    assert "blackboard key 'has space' must be" in exc.message


@pytest.mark.parametrize(
    ("agents", "guards", "key"),
    [
        ("a: {writes: [notes, draft]}\n", "", "agents.a.writes"),
        ("a: {}\n", "verify: [{json_schema: {type: 3}}]\n", "verify[0].json_schema"),
    ],
)
def test_an_invalid_spec_imports_no_tool_module(
    tmp_path: Path, agents: str, guards: str, key: str
) -> None:
    # problems found in the spec's data are reported before any of its code runs
    (tmp_path / "spec_tools_loud.py").write_text(
        "import pathlib\npathlib.Path(__file__).with_name('imported').touch()\n"
        "def search(q: str) -> str:\n    return q\n"
    )
    agents += 'b: {tools: ["spec_tools_loud:search"]}\n'
    text = agents_spec(agents, "team: {pattern: pipeline, stages: [a, b]}\n") + guards
    exc, _ = spec_error(tmp_path, text)
    assert exc.key == key
    assert not (tmp_path / "imported").exists()


NESTED = """\
version: 1
name: nested
description: the root team
defaults: {model: scripted:demo}
agents:
  lead: {role: plans}
  researcher: {role: finds facts, writes: [notes], reads_verified_only: true}
  writer:
    role: writes
    reads: [notes]
    writes: [notes, draft]
    output_type: "spec_team_code:Report"
  editor: {role: edits, reads: [draft]}
  moderator: {role: picks speakers}
  triage: {handoffs: [billing]}
  billing: {handoff_input: "spec_team_code:Case"}
teams:
  docs:
    pattern: pipeline
    role: writes and edits
    stages: [writer, {use: editor, check: "spec_team_code:has_text", name: edit}]
  review:
    pattern: group_chat
    role: reviews in a chat
    participants: [docs, editor]
    selector: "spec_team_code:pick_first"
    window: null
    max_rounds: 4
    done_signal: FIN
    terminate: "spec_team_code:enough"
  moderated:
    pattern: group_chat
    participants: [writer, editor]
    selector: {agent: moderator}
  desk:
    pattern: handoffs
    agents: [triage, billing]
    entry: triage
    max_handoffs: 2
team:
  pattern: orchestrator
  planner: lead
  workers: [researcher, docs, review, moderated, desk]
  max_concurrency: 2
  reviewer: "spec_team_code:two_args"
  max_review_retries: 1
"""


def test_nested_spec_builds_every_pattern(team_code: Path) -> None:
    from podium.patterns import GroupChat, Handoffs, Pipeline

    team = load_spec(write(team_code, NESTED)).build()
    assert isinstance(team, Orchestrator) and team.role == "the root team"
    assert team.reviewer is not None and team.reviewer(1, 2) == 1
    assert (team.max_review_retries, team.max_subtasks) == (1, None)
    researcher, docs, review, moderated, desk = team.workers
    assert isinstance(docs, Pipeline) and (docs.name, docs.role) == ("docs", "writes and edits")
    writer, edit = docs._stages
    assert writer.check is None and edit.label == "edit" and edit.check is not None
    assert edit.check("x") is None and edit.check(" ") == "empty"
    assert writer.runnable.output_type.__name__ == "Report"
    assert (writer.runnable.reads, writer.runnable.writes) == (("notes",), ("notes", "draft"))
    assert researcher.reads_verified_only
    assert isinstance(review, GroupChat)
    assert review.participants[0] is docs  # one team object, wherever it is used
    assert (review.window, review.max_rounds, review.done_signal) == (None, 4, "FIN")
    assert callable(review.selector) and review.selector([], ["a", "b"]) == "a"
    assert review.terminate is not None and review.terminate([1, 2])
    assert isinstance(moderated, GroupChat) and moderated.selector.name == "moderator"
    assert isinstance(desk, Handoffs) and (desk.entry, desk.max_handoffs) == ("triage", 2)
    triage, billing = desk.agents
    assert triage.handoffs == ("billing",) and billing.handoff_input.__name__ == "Case"


def test_root_team_of_each_pattern_runs_offline(team_code: Path) -> None:
    from podium.patterns import GroupChat, Handoffs, Pipeline

    roots = {
        "team: {pattern: pipeline, stages: [researcher, editor]}\n": Pipeline,
        "team: {pattern: group_chat, participants: [researcher, editor]}\n": GroupChat,
        "team: {pattern: handoffs, agents: [editor]}\n": Handoffs,
    }
    for root, kind in roots.items():
        team = load_spec(write(team_code, AGENTS + root)).build(model="scripted:demo")
        assert isinstance(team, kind) and team.name == "t"
        result = team.run_sync("go", store=MemoryStore())
        assert result.stop_reason == StopReason.COMPLETED, result.error


def test_nested_spec_made_in_code_is_checked_and_built() -> None:
    data = {
        "version": 1,
        "name": "t",
        "agents": {"a": {}, "b": {}},
        "teams": {
            "inner": {"pattern": "pipeline", "stages": [{"use": "a", "check": "json:dumps"}]}
        },
        "team": {"pattern": "pipeline", "stages": ["inner", "b"]},
    }
    team = TeamSpec.model_validate(data).build()
    assert [s.label for s in team._stages] == ["inner", "b"]
    data["teams"]["inner"]["stages"] = ["inner"]
    with pytest.raises(SpecError, match=r"teams.inner.stages\[0\].use: the teams form a cycle"):
        TeamSpec.model_validate(data).build()


def test_cli_exits_2_on_a_team_cycle(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from podium.cli import app

    path = write(
        tmp_path,
        AGENTS + "teams:\n  a: {pattern: pipeline, stages: [b]}\n"
        "  b: {pattern: pipeline, stages: [a]}\nteam: {pattern: pipeline, stages: [a]}\n",
    )
    done = CliRunner().invoke(app, ["run", str(path), "go", "--store", "memory"])
    assert done.exit_code == 2
    assert f"{path}:10:35: teams.b.stages[0]: the teams form a cycle (a -> b -> a)" in (
        " ".join(done.stderr.split())
    )
