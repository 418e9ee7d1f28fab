"""YAML team specs: load, validate with file:line:column errors, build the team.

A spec describes agents and how they work together::

    version: 1                      # required, must be 1
    name: research-team             # the team's name
    description: optional text      # the team's capability card
    defaults:                       # optional; for agents that do not set them
      model: scripted:demo          # else default_model_name() at build time
      max_tokens: 1024
      max_turns: 8
      temperature: 0.2
    inputs:                         # optional named run inputs
      topic: {description: "what to research", required: true}
      audience: {default: "engineers"}    # a default makes it optional
    agents:                         # name -> agent
      researcher:
        role: finds sources         # the capability card planners see
        instructions: |
          Search first, then answer with short bullets.
        model: openai:gpt-4o-mini   # optional, ``provider:name``
        tools: ["mypkg.tools:search_web"]   # import paths ``module:attr``
        max_turns: 6                # optional; also max_tokens, temperature
      writer: {role: writes the report}
      lead: {role: plans and writes the final answer}
    team:
      pattern: orchestrator         # the only pattern so far
      planner: lead
      workers: [researcher, writer]
      aggregator: lead              # optional
      max_concurrency: 8            # optional
      max_subtasks: 20              # optional
    prices:                         # optional, USD per million tokens
      "openai:my-finetune": {input: 1.0, output: 2.0}

Tool paths are imported with the spec's folder first on ``sys.path``, so a
``tools.py`` next to the spec is ``tools:search_web``; a plain function is
wrapped with `podium.tool`. Model strings are checked (``provider:name`` with a
known provider) but not resolved at load time, so loading needs no API keys.

Every problem raises one `SpecError` whose text is ``file:line:column: message``
and whose `key` is the dotted path of the offending entry. Loading is safe: only
standard YAML tags are accepted, and large files, deep nesting, duplicate keys
and alias bombs are refused (see `podium._yaml`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from podium._spec_check import (
    AgentName,
    InputName,
    Locator,
    ModelName,
    SpecVersion,
    ToolPath,
    check_model_name,
    import_agent_tools,
    validation_error,
)
from podium._yaml import Document, YamlPath, dotted, read_text
from podium.agent import Agent
from podium.errors import ConfigError
from podium.models._pricing import set_price
from podium.models._resolve import default_model_name
from podium.patterns.orchestrator import Orchestrator
from podium.registry import suggest
from podium.tools._tool import Tool

__all__ = [
    "AgentSpec",
    "Defaults",
    "InputSpec",
    "OrchestratorTeam",
    "PriceSpec",
    "TeamSpec",
    "load_spec",
    "parse_spec",
]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

AtLeastOne = Annotated[int, Field(ge=1)]
Temperature = Annotated[float, Field(ge=0, le=2)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Defaults(_Spec):
    """Settings applied to every agent that does not set its own."""

    model: ModelName | None = None
    max_tokens: AtLeastOne | None = None
    max_turns: AtLeastOne | None = None
    temperature: Temperature | None = None


class InputSpec(_Spec):
    """A declared run input; required unless it has a default or ``required: false``."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    description: str = ""
    required: bool | None = None
    default: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> InputSpec:
        if self.required and self.default is not None:
            raise ValueError("an input with a default is not required; drop one of the two")
        return self

    @property
    def is_required(self) -> bool:
        """Whether a run must give this input."""
        return self.required if self.required is not None else self.default is None


class AgentSpec(Defaults):
    """One agent: its role card, instructions, model, tools and limits."""

    role: str = ""
    instructions: str = ""
    tools: list[ToolPath] = []


class OrchestratorTeam(_Spec):
    """``pattern: orchestrator``: a planner assigns subtasks to workers."""

    pattern: Literal["orchestrator"]
    planner: str
    workers: list[str] = Field(min_length=1)
    aggregator: str | None = None
    max_concurrency: AtLeastOne = 8
    max_subtasks: AtLeastOne = 20


# One member today; further patterns join this union, discriminated by `pattern`.
TeamPattern = Annotated[OrchestratorTeam, Field(discriminator="pattern")]
_PATTERNS: dict[str, type[_Spec]] = {"orchestrator": OrchestratorTeam}


class PriceSpec(_Spec):
    """USD per million input and output tokens."""

    input: Annotated[float, Field(ge=0)]
    output: Annotated[float, Field(ge=0)]


_OPTIONAL = frozenset({"description", "defaults", "inputs", "prices"})


def _normalized(data: Any) -> Any:
    """Drop ``x-`` keys (anchors to reuse); read ``inputs:`` or ``lead:`` left empty as {}."""
    if not isinstance(data, dict):
        return data
    data = {
        k: v
        for k, v in data.items()
        if not (isinstance(k, str) and k.startswith("x-")) and (v is not None or k not in _OPTIONAL)
    }
    for section in ("agents", "inputs"):
        if isinstance(data.get(section), dict):
            data[section] = {k: {} if v is None else v for k, v in data[section].items()}
    return data


class TeamSpec(_Spec):
    """A validated team spec; `build` makes the runnable team.

    Get one with `load_spec` or `parse_spec`, which also point errors at the file.
    """

    version: SpecVersion
    name: AgentName
    description: str = ""
    defaults: Defaults = Defaults()
    inputs: dict[InputName, InputSpec] = {}
    agents: dict[AgentName, AgentSpec] = Field(min_length=1)
    team: TeamPattern
    prices: dict[ModelName, PriceSpec] = {}

    _where: Locator = PrivateAttr(default=Locator("<spec>"))
    _tools: dict[str, tuple[Tool, ...]] | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        return _normalized(data)

    def _references(self) -> Iterable[tuple[YamlPath, str]]:
        """(path, name) for every agent the team refers to."""
        yield ("team", "planner"), self.team.planner
        for i, worker in enumerate(self.team.workers):
            yield ("team", "workers", i), worker
        if self.team.aggregator is not None:
            yield ("team", "aggregator"), self.team.aggregator

    def _check_references(self) -> None:
        seen: set[str] = set()
        for path, name in self._references():
            if name not in self.agents:
                hint = suggest(name, self.agents) or f"; defined agents: {', '.join(self.agents)}"
                raise self._where.error(f"{dotted(path)}: no agent named {name!r}{hint}", path)
            if path[1] == "workers":
                if name in seen:
                    raise self._where.error(f"{dotted(path)}: {name!r} is listed twice", path)
                seen.add(name)

    def _agent_tools(self) -> dict[str, list[str]]:
        return {name: agent.tools for name, agent in self.agents.items()}

    def apply_prices(self) -> None:
        """Register the spec's ``prices`` (done by `build`)."""
        for model, price in self.prices.items():
            set_price(model, input=price.input, output=price.output)

    def _agent(self, name: str, model: str | None, tools: tuple[Tool, ...]) -> Agent:
        spec, defaults = self.agents[name], self.defaults
        options: dict[str, Any] = {}
        for option in ("max_tokens", "max_turns", "temperature"):
            value = getattr(spec, option)
            value = value if value is not None else getattr(defaults, option)
            if value is not None:
                options[option] = value
        return Agent(
            name,
            role=spec.role,
            instructions=spec.instructions,
            model=model or spec.model or defaults.model or default_model_name(),
            tools=tools,
            **options,
        )

    def build(self, *, model: str | None = None) -> Orchestrator:
        """The root team with all its agents, ready to run.

        Args:
            model: ``provider:name`` to use for every agent instead of the spec's.

        Raises:
            ConfigError: `model` is not a valid model string.
            SpecError: a reference or tool path is invalid (specs made without
                `load_spec`/`parse_spec` are checked here).
        """
        if model is not None:
            try:
                check_model_name(model)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        self._check_references()
        if self._tools is None:
            self._tools = import_agent_tools(self._agent_tools(), None, self._where)
        self.apply_prices()
        agents = {n: self._agent(n, model, self._tools.get(n, ())) for n in self.agents}
        team = self.team
        return Orchestrator(
            planner=agents[team.planner],
            workers=[agents[w] for w in team.workers],
            aggregator=agents[team.aggregator] if team.aggregator else None,
            name=self.name,
            role=self.description,
            max_concurrency=team.max_concurrency,
            max_subtasks=team.max_subtasks,
        )

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


_SHAPES: dict[tuple[str, ...], type[_Spec]] = {
    (): TeamSpec,
    ("defaults",): Defaults,
    ("inputs", "*"): InputSpec,
    ("agents", "*"): AgentSpec,
    ("prices", "*"): PriceSpec,
}


def _keys_at(data: Any) -> Callable[[YamlPath], list[str]]:
    def keys(path: YamlPath) -> list[str]:
        if path == ("team",):
            team = data.get("team")
            pattern = team.get("pattern") if isinstance(team, dict) else None
            models = [_PATTERNS[pattern]] if pattern in _PATTERNS else _PATTERNS.values()
            return sorted({f for m in models for f in m.model_fields})
        shape = tuple("*" if i == 1 else str(p) for i, p in enumerate(path))
        model = _SHAPES.get(shape)
        return list(model.model_fields) if model else []

    return keys


def parse_spec(text: str, *, filename: str = "<string>") -> TeamSpec:
    """Validate the spec in `text`; tools are imported relative to `filename`'s folder.

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
    directory = None if filename.startswith("<") else Path(filename).resolve().parent
    spec._tools = import_agent_tools(spec._agent_tools(), directory, where)
    return spec


def load_spec(path: str | Path) -> TeamSpec:
    """Load and validate the spec file at `path` (at most 1 MiB of UTF-8 YAML).

    Raises:
        SpecError: the file cannot be read, or the first problem in it.
    """
    path = Path(path)
    return parse_spec(read_text(path), filename=str(path))
