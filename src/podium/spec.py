"""YAML team specs: load, validate with file:line:column errors, build the team.

A spec describes agents and how they work together; `docs/spec.md` lists every
key. In short::

    version: 1                      # required, must be 1
    name: research-team             # the root team's name
    description: optional text      # the root team's capability card
    defaults: {model: scripted:demo, max_tokens: 1024, max_turns: 8}
    inputs:                         # optional named run inputs
      topic: {description: "what to research", required: true}
    agents:                         # name -> agent
      researcher:
        role: finds sources         # the capability card planners see
        tools: ["mypkg.tools:search_web"]   # import paths ``module:attr``
        writes: [notes]             # blackboard keys it writes (reads: too)
      writer: {role: writes the report, reads: [notes], writes: [draft]}
      editor: {role: checks the report, reads: [draft]}
      lead: {role: plans and writes the final answer}
    teams:                          # optional named teams, usable as members
      report:
        pattern: pipeline
        role: writes and checks the report
        stages: [writer, {use: editor, check: "checks:has_title"}]
    team:                           # the root team
      pattern: orchestrator         # orchestrator | pipeline | group_chat | handoffs
      planner: lead
      workers: [researcher, report] # an agent or a team from teams:
    prices:                         # optional, USD per million tokens
      "openai:my-finetune": {input: 1.0, output: 2.0}
    budget: {usd: 0.50, model_calls: 40}    # optional: the run's hard caps
    limits: {max_turns: 6, max_fanout: 8}   # optional: turns, depth, fan-out, re-plans
    loops: {repeated_tool_calls: 3}         # optional: loop-detector thresholds
    verify:                                 # optional: run-level checks
      - {target: final, predicate: "checks:cites_sources"}

Agents and teams take a ``budget:`` of their own (their share of the run's);
a tool may be written ``{use: "module:attr", approval: true}`` and a pipeline
stage ``{use: NAME, approval: true}`` to make a human approve it first.

Import paths (tools, stage checks, chat selectors and terminate functions,
``verify`` predicates, ``output_type`` and ``handoff_input`` models) are imported with the spec's
folder first on ``sys.path``, so a ``tools.py`` next to the spec is
``tools:search_web``; a plain function is wrapped with `podium.tool`. Model
strings are checked (``provider:name`` with a known provider) but not resolved
at load time, so loading needs no API keys.

Every problem raises one `SpecError` whose text is ``file:line:column: message``
and whose `key` is the dotted path of the offending entry. Loading is safe: only
standard YAML tags are accepted, and large files, deep nesting, duplicate keys
and alias bombs are refused (see `podium._yaml`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr, ValidationError, model_validator

from podium._engine._runner import Runnable
from podium._spec_check import (
    AgentName,
    InputName,
    Locator,
    ModelName,
    SpecModel,
    SpecVersion,
    check_model_name,
    validation_error,
)
from podium._spec_guards import (
    BudgetSpec,
    CheckSpec,
    LimitsSpec,
    LoopsSpec,
    RunGuards,
    ToolRef,
    check_schemas,
    check_verify,
    root_budget_error,
    with_approval,
)
from podium._spec_imports import ImportKind, import_agent_tools, load_object
from podium._spec_models import AgentSpec, Defaults, InputSpec, PriceSpec, normalized
from podium._spec_refs import check_references
from podium._spec_teams import (
    AgentSelector,
    GroupChatTeam,
    HandoffsTeam,
    OrchestratorTeam,
    PipelineTeam,
    StageSpec,
    Team,
    TeamPattern,
    team_keys,
)
from podium._yaml import Document, YamlPath, dotted, read_text
from podium.agent import Agent
from podium.errors import ConfigError
from podium.guards import Check
from podium.models._base import Model, ModelRequest, ModelResponse
from podium.models._fallback import FallbackModel
from podium.models._pricing import set_price
from podium.models._resolve import default_model_name, resolve_model
from podium.registry import suggest
from podium.tools._tool import Tool

__all__ = [
    "AgentSelector",
    "AgentSpec",
    "BudgetSpec",
    "CheckSpec",
    "Defaults",
    "GroupChatTeam",
    "HandoffsTeam",
    "InputSpec",
    "LimitsSpec",
    "LoopsSpec",
    "OrchestratorTeam",
    "PipelineTeam",
    "PriceSpec",
    "StageSpec",
    "Team",
    "TeamSpec",
    "ToolRef",
    "load_spec",
    "parse_spec",
]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_OPTIONS = ("max_tokens", "max_turns", "temperature")


class _Builder:
    """Builds each agent and team once; a team is built when first used."""

    def __init__(self, spec: TeamSpec, agents: dict[str, Agent], loaded: dict[YamlPath, Any]):
        self.spec = spec
        self.agents = agents
        self.objects = loaded
        self.teams: dict[str, Runnable] = {}

    def agent(self, name: str) -> Agent:
        return self.agents[name]

    def member(self, name: str) -> Runnable:
        if name in self.agents:
            return self.agents[name]
        if name not in self.teams:  # references are checked: no cycles, no unknown names
            team = self.spec.teams[name]
            self.teams[name] = team.build(name, team.role, ("teams", name), self)
        return self.teams[name]

    def loaded(self, path: YamlPath) -> Any:
        return self.objects[path]


class _Deferred:
    """A fallback chain's model, resolved at its first call (like an agent's model string).

    So building a team, or estimating its cost, needs no API keys.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._model: Model | None = None

    @property
    def offline(self) -> bool:
        """True for the scripted model, which is the only offline one."""
        return self.name.partition(":")[0].strip().lower() == "scripted"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Resolve the model (once), then ask it."""
        if self._model is None:
            self._model = resolve_model(self.name)
        return await self._model.request(request)


def _model(choice: str | list[str]) -> str | Model:
    """A model string as it is; a list becomes a fallback chain (resolved when called)."""
    if isinstance(choice, str):
        return choice
    return choice[0] if len(choice) == 1 else FallbackModel(*(_Deferred(c) for c in choice))


class TeamSpec(RunGuards):
    """A validated team spec; `build` makes the runnable root team.

    Get one with `load_spec` or `parse_spec`, which also point errors at the file.
    The guard keys are read as `podium.guards` records: `budget`, `limits`,
    `loops` and `checks` (the ``budget:``, ``limits:``, ``loops:`` and
    ``verify:`` keys); `build` puts them on the root team, so ``team.run()``
    applies them.
    """

    version: SpecVersion
    name: AgentName
    description: str = ""
    defaults: Defaults = Defaults()
    inputs: dict[InputName, InputSpec] = Field(default_factory=dict)
    agents: dict[AgentName, AgentSpec] = Field(min_length=1)
    teams: dict[AgentName, TeamPattern] = Field(default_factory=dict)
    team: TeamPattern
    prices: dict[ModelName, PriceSpec] = Field(default_factory=dict)

    _where: Locator = PrivateAttr(default=Locator("<spec>"))
    _tools: dict[str, tuple[Tool, ...]] | None = PrivateAttr(default=None)
    _objects: dict[YamlPath, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        return normalized(data)

    @property
    def checks(self) -> tuple[Check, ...]:
        """The run-level checks (``verify:``); predicates are imported when the spec loads."""
        if self.verify and self._tools is None:
            self._load(None)
        return tuple(
            c.to_check(self._objects.get(("verify", i, "predicate")))
            for i, c in enumerate(self.verify)
        )

    def _check_references(self) -> None:
        """The checks that need no imports: done before any of the spec's code runs."""
        if self.team.budget is not None:
            raise root_budget_error(self._where)
        check_verify(self.verify, self._where)
        check_schemas(self.verify, self._where)
        check_references(self.agents, self.teams, self.team, self._where)
        for name, agent in self.agents.items():
            if agent.output_type is None:
                self._check_writes(name, None)

    def _check_writes(self, name: str, output: Any) -> None:
        """An agent writing several keys has an output_type with a field per key."""
        agent = self.agents[name]
        if len(agent.writes) < 2:
            return
        missing = [k for k in agent.writes if k not in getattr(output, "model_fields", {})]
        if missing:
            path: YamlPath = ("agents", name, "writes")
            needs = (
                f"its output_type {agent.output_type!r} needs"
                if output is not None
                else "it needs an output_type: a pydantic model with"
            )
            raise self._where.error(
                f"{dotted(path)}: {name} writes several keys, so {needs} a field per key "
                f"(missing: {', '.join(missing)})",
                path,
            )

    def _imports(self) -> Iterator[tuple[YamlPath, str, ImportKind]]:
        """(position, import path, what it must be) for everything but tools."""
        for name, agent in self.agents.items():
            for key in ("output_type", "handoff_input"):
                value = getattr(agent, key)
                if value is not None:
                    yield ("agents", name, key), value, "model"
        teams: list[tuple[YamlPath, TeamPattern]] = [(("team",), self.team)]
        teams += [(("teams", n), t) for n, t in self.teams.items()]
        for at, team in teams:
            for path, value, kind in team.imports():
                yield (*at, *path), value, kind
        for i, check in enumerate(self.verify):
            if check.predicate is not None:
                yield ("verify", i, "predicate"), check.predicate, "predicate"

    def _load(self, directory: Path | None) -> None:
        """Import every tool, check, selector and model the spec names."""
        paths = {name: [t.use for t in agent.tools] for name, agent in self.agents.items()}
        tools = import_agent_tools(paths, directory, self._where)
        self._tools = {
            name: tuple(
                with_approval(tool, ref, ("agents", name, "tools", i), self._where)
                for i, (tool, ref) in enumerate(zip(tools[name], agent.tools, strict=True))
            )
            for name, agent in self.agents.items()
        }
        self._objects = {
            path: load_object(path, value, kind, directory, self._where)
            for path, value, kind in self._imports()
        }
        for name in self.agents:
            self._check_writes(name, self._objects.get(("agents", name, "output_type")))

    def apply_prices(self) -> None:
        """Register the spec's ``prices`` (done by `build`)."""
        for model, price in self.prices.items():
            set_price(model, input=price.input, output=price.output)

    def _agent(self, name: str, model: str | None) -> Agent:
        spec, defaults = self.agents[name], self.defaults
        options: dict[str, Any] = {}
        for option in _OPTIONS:
            value = getattr(spec, option)
            value = value if value is not None else getattr(defaults, option)
            if value is not None:
                options[option] = value
        output_type = self._objects.get(("agents", name, "output_type"))
        return Agent(
            name,
            role=spec.role,
            instructions=spec.instructions,
            model=_model(model or spec.model or defaults.model or default_model_name()),
            tools=(self._tools or {}).get(name, ()),
            output_type=output_type if output_type is not None else str,
            reads=spec.reads,
            writes=spec.writes,
            reads_verified_only=spec.reads_verified_only,
            handoffs=spec.handoffs,
            handoff_input=self._objects.get(("agents", name, "handoff_input")),
            budget=spec.budget.to_budget() if spec.budget is not None else None,
            **options,
        )

    def build(self, *, model: str | None = None) -> Team:
        """The root team (``team:``) with all its agents and nested teams, ready to run.

        Args:
            model: ``provider:name`` to use for every agent instead of the spec's.

        Returns:
            An `Orchestrator`, `Pipeline`, `GroupChat` or `Handoffs`, by the
            root team's ``pattern``; each has ``run`` and ``run_sync``. The
            spec's ``budget`` is its `budget`; ``limits``, ``loops`` and
            ``verify`` are set as its ``limits``, ``loops`` and ``checks``
            attributes, which a run reads.

        Raises:
            ConfigError: `model` is not a valid model string.
            SpecError: a reference or import path is invalid (specs made without
                `load_spec`/`parse_spec` are checked here).
        """
        if model is not None:
            try:
                check_model_name(model)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        self._check_references()
        if self._tools is None:
            self._load(None)
        self.apply_prices()
        builder = _Builder(self, {n: self._agent(n, model) for n in self.agents}, self._objects)
        team = self.team.build(self.name, self.team.role or self.description, ("team",), builder)
        team.budget = self.budget
        guards = {"limits": self.limits, "loops": self.loops, "checks": self.checks or None}
        for attr, value in guards.items():
            if value is not None:  # the runner reads these attributes of the root runnable
                setattr(team, attr, value)
        return team

    def resolve_inputs(self, given: Mapping[str, str]) -> dict[str, str]:
        """The run's inputs: `given` plus defaults (optional ones without a default are "").

        Raises:
            SpecError: an input is not declared, or a required one is missing;
                it points at the spec's ``inputs:`` key and names the input.
        """
        for name in given:
            if name not in self.inputs:
                declared = ", ".join(self.inputs) or "none"
                raise self._where.error(
                    f"unknown input {name!r}{suggest(name, self.inputs)}; "
                    f"the spec declares: {declared}",
                    ("inputs",),
                    at_key=True,
                    key=f"inputs.{name}",
                )
        missing = [n for n, s in self.inputs.items() if n not in given and s.is_required]
        if missing:
            described = [
                f"{n!r}"
                + (f" ({self.inputs[n].description})" if self.inputs[n].description else "")
                for n in missing
            ]
            plural = "s" if len(missing) > 1 else ""
            raise self._where.error(
                f"missing required input{plural} {', '.join(described)}",
                ("inputs",),
                at_key=True,
                key=f"inputs.{missing[0]}",
            )
        return {n: given.get(n, s.default or "") for n, s in self.inputs.items()}

    def render_task(self, task: str, inputs: Mapping[str, str]) -> str:
        """`task` with each ``{name}`` of a declared input replaced by its value.

        Values come from `inputs`, else the input's default; other braces are
        left as they are, and substituted values are not expanded again.
        """
        values = {n: s.default for n, s in self.inputs.items() if s.default is not None}
        values.update({n: v for n, v in inputs.items() if n in self.inputs})

        def replace(match: re.Match[str]) -> str:
            return values.get(match.group(1), match.group(0))

        return _PLACEHOLDER.sub(replace, task)


_SHAPES: dict[tuple[str, ...], type[SpecModel]] = {
    (): TeamSpec,
    ("defaults",): Defaults,
    ("inputs", "*"): InputSpec,
    ("agents", "*"): AgentSpec,
    ("agents", "*", "tools", "*"): ToolRef,
    ("agents", "*", "budget"): BudgetSpec,
    ("prices", "*"): PriceSpec,
    ("budget",): BudgetSpec,
    ("limits",): LimitsSpec,
    ("loops",): LoopsSpec,
    ("verify", "*"): CheckSpec,
}


def _keys_at(data: Any) -> Callable[[YamlPath], list[str]]:
    def keys(path: YamlPath) -> list[str]:
        if path[:1] == ("team",):
            return team_keys(data.get("team"), path[1:])
        if path[:1] == ("teams",) and len(path) >= 2:
            teams = data.get("teams")
            return team_keys(teams.get(path[1]) if isinstance(teams, dict) else None, path[2:])
        shape = tuple("*" if i == 1 or isinstance(p, int) else p for i, p in enumerate(path))
        model = _SHAPES.get(shape)
        return [f.alias or n for n, f in model.model_fields.items()] if model else []

    return keys


def parse_spec(text: str, *, filename: str = "<string>") -> TeamSpec:
    """Validate the spec in `text`; code is imported relative to `filename`'s folder.

    Raises:
        SpecError: the first problem found, as ``file:line:column: message``.
    """
    doc = Document.load(text, filename)
    where = Locator(filename, doc)
    if not isinstance(doc.data, dict):
        kind = "a list" if isinstance(doc.data, list) else f"the value {doc.data!r}"
        raise where.error(
            f"the spec must be a mapping with version, name, agents and team, not {kind}", ()
        )
    try:
        spec = TeamSpec.model_validate(doc.data)
    except ValidationError as exc:
        raise validation_error(exc, where, doc.data, _keys_at(doc.data)) from None
    spec._where = where
    spec._check_references()
    spec._load(None if filename.startswith("<") else Path(filename).resolve().parent)
    return spec


def load_spec(path: str | Path) -> TeamSpec:
    """Load and validate the spec file at `path` (at most 1 MiB of UTF-8 YAML).

    Raises:
        SpecError: the file cannot be read, or the first problem in it.
    """
    path = Path(path)
    return parse_spec(read_text(path), filename=str(path))
