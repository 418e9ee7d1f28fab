"""Teams in a spec: one model per pattern, the names each refers to, and building it.

Private to `podium.spec`. ``team:`` and every entry of ``teams:`` is one of
these models, told apart by ``pattern``. Each model lists the names it refers
to (`refs`, checked by `podium._spec_refs`), the import paths it holds
(`imports`, loaded by `podium._spec_imports`), and builds its runnable from
already-built members (`build`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

from pydantic import BeforeValidator, Discriminator, Field, Tag, model_validator

from podium._engine._runner import Runnable
from podium._spec_check import (
    ROUND_ROBIN,
    AgentName,
    AtLeastOne,
    CallablePath,
    ReviewerName,
    SelectorName,
    SpecModel,
    use_short_form,
)
from podium._spec_guards import BudgetSpec
from podium._spec_imports import ImportKind
from podium._yaml import YamlPath
from podium.agent import Agent
from podium.guards._budget import Budget
from podium.patterns._review import Reviewer
from podium.patterns.group_chat import GroupChat, Selector
from podium.patterns.handoff import Handoffs
from podium.patterns.orchestrator import Orchestrator
from podium.patterns.pipeline import Pipeline, Stage

__all__ = [
    "PATTERNS",
    "AgentSelector",
    "GroupChatTeam",
    "HandoffsTeam",
    "OrchestratorTeam",
    "Parts",
    "PipelineTeam",
    "Ref",
    "StageSpec",
    "Team",
    "TeamPattern",
    "team_keys",
]

#: What `TeamSpec.build` returns: the root team, ready to ``run``.
Team = Orchestrator | Pipeline | GroupChat | Handoffs

ImportRef = tuple[YamlPath, str, ImportKind]


@dataclass(frozen=True, slots=True)
class Ref:
    """A name a team refers to.

    Attributes:
        path: where it is written, relative to the team's mapping.
        name: the agent or team it names.
        agents_only: only an agent fits here (a planner, a handoffs member, ...).
        group: the list it belongs to; labels within one group must be unique.
        label: what must be unique in the group (the name, or a stage's name).
    """

    path: YamlPath
    name: str
    agents_only: bool = False
    group: str | None = None
    label: str = ""


class Parts(Protocol):
    """What a team model needs to build its runnable."""

    def agent(self, name: str) -> Agent:
        """The built agent `name`."""
        ...

    def member(self, name: str) -> Runnable:
        """The built agent or team `name`."""
        ...

    def loaded(self, path: YamlPath) -> Any:
        """The object imported from the import path written at `path`."""
        ...


class _Team(SpecModel):
    role: str = ""
    budget: BudgetSpec | None = None

    @property
    def own_budget(self) -> Budget | None:
        """The team's own share of the run's budget, if it has one."""
        return self.budget.to_budget() if self.budget is not None else None


class OrchestratorTeam(_Team):
    """``pattern: orchestrator``: a planner assigns subtasks to workers (agents or teams).

    ``reviewer`` is an agent name or a function's import path (``module:function``).
    """

    pattern: Literal["orchestrator"]
    planner: AgentName
    workers: list[AgentName] = Field(min_length=1)
    aggregator: AgentName | None = None
    max_concurrency: AtLeastOne = 8
    max_subtasks: AtLeastOne | None = None
    reviewer: ReviewerName | None = None
    max_review_retries: Annotated[int, Field(ge=0, strict=True)] = 2

    @property
    def _reviewer_is_agent(self) -> bool:
        return self.reviewer is not None and ":" not in self.reviewer

    def refs(self) -> list[Ref]:
        """The planner, the workers, the aggregator and a reviewer agent."""
        refs = [Ref(("planner",), self.planner, agents_only=True)]
        refs += [
            Ref(("workers", i), w, group="workers", label=w) for i, w in enumerate(self.workers)
        ]
        for key in ("aggregator", "reviewer"):
            value = getattr(self, key)
            if value is not None and ":" not in value:
                refs.append(Ref((key,), value, agents_only=True))
        return refs

    def imports(self) -> list[ImportRef]:
        """A reviewer function."""
        if self.reviewer is None or self._reviewer_is_agent:
            return []
        return [(("reviewer",), self.reviewer, "reviewer")]

    def build(self, name: str, role: str, at: YamlPath, parts: Parts) -> Orchestrator:
        """The `Orchestrator`."""
        reviewer: Reviewer | None = None
        if self.reviewer is not None:
            reviewer = (
                parts.agent(self.reviewer)
                if self._reviewer_is_agent
                else parts.loaded((*at, "reviewer"))
            )
        return Orchestrator(
            planner=parts.agent(self.planner),
            workers=[parts.member(w) for w in self.workers],
            aggregator=parts.agent(self.aggregator) if self.aggregator else None,
            name=name,
            role=role,
            max_concurrency=self.max_concurrency,
            max_subtasks=self.max_subtasks,
            reviewer=reviewer,
            max_review_retries=self.max_review_retries,
            budget=self.own_budget,
        )


class StageSpec(SpecModel):
    """A pipeline stage: ``NAME`` or ``{use: NAME, check: "module:function", name: LABEL}``.

    ``approval: true`` makes a human approve before the stage starts;
    ``approval_timeout`` (seconds) denies when nobody decides in time.
    """

    use: AgentName
    check: CallablePath | None = None
    name: AgentName | None = None
    approval: bool = False
    approval_timeout: Annotated[float, Field(gt=0, strict=True)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        return use_short_form(
            data,
            (
                "a stage is an agent or team name, or a mapping "
                "{use: NAME, check: 'module:function'}"
            ),
        )

    @model_validator(mode="after")
    def _timeout_needs_approval(self) -> StageSpec:
        if self.approval_timeout is not None and not self.approval:
            raise ValueError("approval_timeout needs `approval: true`")
        return self

    @property
    def label(self) -> str:
        """The stage's name in step paths."""
        return self.name or self.use


class PipelineTeam(_Team):
    """``pattern: pipeline``: stages (agents or teams) run in order."""

    pattern: Literal["pipeline"]
    stages: list[StageSpec] = Field(min_length=1)

    def refs(self) -> list[Ref]:
        """Each stage's agent or team."""
        return [
            Ref(("stages", i, "use"), s.use, group="stages", label=s.label)
            for i, s in enumerate(self.stages)
        ]

    def imports(self) -> list[ImportRef]:
        """The stage checks."""
        return [
            (("stages", i, "check"), s.check, "check")
            for i, s in enumerate(self.stages)
            if s.check is not None
        ]

    def build(self, name: str, role: str, at: YamlPath, parts: Parts) -> Pipeline:
        """The `Pipeline`."""
        stages = [
            Stage(
                parts.member(s.use),
                check=parts.loaded((*at, "stages", i, "check")) if s.check else None,
                name=s.name or "",
                approval=s.approval,
                approval_timeout=s.approval_timeout,
            )
            for i, s in enumerate(self.stages)
        ]
        return Pipeline(stages, name=name, role=role, budget=self.own_budget)


class AgentSelector(SpecModel):
    """``selector: {agent: NAME}``: a model picks the next speaker."""

    agent: AgentName


def _selector_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "by-name"
    if isinstance(value, dict | AgentSelector):
        return "by-agent"
    return None


SelectorSpec = Annotated[
    Annotated[SelectorName, Tag("by-name")] | Annotated[AgentSelector, Tag("by-agent")],
    Discriminator(
        _selector_kind,
        custom_error_type="selector_type",
        custom_error_message="expected 'round_robin', an import path 'package.module:function' "
        "or {agent: NAME}",
    ),
]


def _check_window(value: object) -> object:
    if isinstance(value, str) and value != "auto":  # else pydantic only asks for an integer
        raise ValueError(f"expected a number of messages, 'auto' or null, got {value!r}")
    return value


class GroupChatTeam(_Team):
    """``pattern: group_chat``: participants take turns on one conversation."""

    pattern: Literal["group_chat"]
    participants: list[AgentName] = Field(min_length=2)
    selector: SelectorSpec = ROUND_ROBIN
    max_rounds: AtLeastOne = 10
    window: Annotated[AtLeastOne | Literal["auto"] | None, BeforeValidator(_check_window)] = "auto"
    done_signal: str = Field(default="DONE", min_length=1)
    terminate: CallablePath | None = None

    def refs(self) -> list[Ref]:
        """The participants and the selector agent."""
        refs = [
            Ref(("participants", i), p, group="participants", label=p)
            for i, p in enumerate(self.participants)
        ]
        if isinstance(self.selector, AgentSelector):
            refs.append(Ref(("selector", "agent"), self.selector.agent, agents_only=True))
        return refs

    def imports(self) -> list[ImportRef]:
        """The selector and terminate functions."""
        found: list[ImportRef] = []
        if isinstance(self.selector, str) and self.selector != ROUND_ROBIN:
            found.append((("selector",), self.selector, "selector"))
        if self.terminate is not None:
            found.append((("terminate",), self.terminate, "terminate"))
        return found

    def build(self, name: str, role: str, at: YamlPath, parts: Parts) -> GroupChat:
        """The `GroupChat`."""
        selector: Selector = "round_robin"
        if isinstance(self.selector, AgentSelector):
            selector = parts.agent(self.selector.agent)
        elif self.selector != ROUND_ROBIN:
            selector = parts.loaded((*at, "selector"))
        return GroupChat(
            [parts.member(p) for p in self.participants],
            selector=selector,
            max_rounds=self.max_rounds,
            terminate=parts.loaded((*at, "terminate")) if self.terminate else None,
            window=self.window,
            done_signal=self.done_signal,
            name=name,
            role=role,
            budget=self.own_budget,
        )


class HandoffsTeam(_Team):
    """``pattern: handoffs``: agents pass control to each other by name."""

    pattern: Literal["handoffs"]
    agents: list[AgentName] = Field(min_length=1)
    entry: AgentName | None = None
    max_handoffs: Annotated[int, Field(ge=0, strict=True)] = 10

    def refs(self) -> list[Ref]:
        """The agents (only agents: a handoff hands over a conversation)."""
        return [
            Ref(("agents", i), a, agents_only=True, group="agents", label=a)
            for i, a in enumerate(self.agents)
        ]

    def imports(self) -> list[ImportRef]:
        """None."""
        return []

    def build(self, name: str, role: str, at: YamlPath, parts: Parts) -> Handoffs:
        """The `Handoffs` team."""
        return Handoffs(
            [parts.agent(a) for a in self.agents],
            entry=self.entry,
            max_handoffs=self.max_handoffs,
            name=name,
            role=role,
            budget=self.own_budget,
        )


TeamPattern = Annotated[
    OrchestratorTeam | PipelineTeam | GroupChatTeam | HandoffsTeam,
    Field(discriminator="pattern"),
]
PATTERNS: dict[str, type[_Team]] = {
    "orchestrator": OrchestratorTeam,
    "pipeline": PipelineTeam,
    "group_chat": GroupChatTeam,
    "handoffs": HandoffsTeam,
}


def team_keys(team: Any, rest: Sequence[str | int]) -> list[str]:
    """The keys allowed at `rest` inside the team mapping `team` (for suggestions)."""
    if not rest:
        pattern = team.get("pattern") if isinstance(team, dict) else None
        chosen = PATTERNS.get(pattern) if isinstance(pattern, str) else None
        models = [chosen] if chosen else list(PATTERNS.values())
        return sorted({f for m in models for f in m.model_fields})
    if len(rest) == 2 and rest[0] == "stages":
        return list(StageSpec.model_fields)
    if tuple(rest) == ("budget",):
        return list(BudgetSpec.model_fields)
    if tuple(rest) == ("selector",):
        return list(AgentSelector.model_fields)
    return []
