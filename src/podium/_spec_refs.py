"""Spec references: every name a spec uses must exist, fit where it is used, and nest.

Private to `podium.spec`. Checks, each error at the position of the offending
name:

- agent and team names are unique across ``agents:`` and ``teams:``;
- each team's members exist (an agent, or a team where a team fits), are
  listed once, and teams do not contain themselves, directly or through others,
  nor nest more than `MAX_DEPTH` (64) levels deep;
- ``handoffs`` name other agents of the same handoffs team, and its ``entry``
  is one of its agents;
- a ``reads`` key that no agent writes but is close to one that is, is a typo.

When a spec has several problems, the first in the file is reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from podium._spec_check import Locator, first_error
from podium._spec_teams import GroupChatTeam, HandoffsTeam, OrchestratorTeam, PipelineTeam
from podium._yaml import MAX_DEPTH, YamlPath, dotted
from podium.errors import SpecError
from podium.registry import suggest

__all__ = ["check_references"]

TeamModel = OrchestratorTeam | PipelineTeam | GroupChatTeam | HandoffsTeam

_AGENT_ONLY = {
    "planner": "a planner",
    "aggregator": "an aggregator",
    "reviewer": "a reviewer",
    "selector": "a selector",
    "agents": "a member of a handoffs team",
}


def _team_name(at: YamlPath) -> str:
    return "root handoffs team" if at == ("team",) else f"handoffs team {at[-1]!r}"


class AgentRefs(Protocol):
    """The parts of an agent's spec that name other things."""

    @property
    def handoffs(self) -> Sequence[str]:
        """Agents it may hand off to."""
        ...

    @property
    def reads(self) -> Sequence[str]:
        """Blackboard keys it reads."""
        ...

    @property
    def writes(self) -> Sequence[str]:
        """Blackboard keys it writes."""
        ...


class _Checker:
    def __init__(
        self,
        agents: Mapping[str, AgentRefs],
        teams: Mapping[str, TeamModel],
        where: Locator,
    ) -> None:
        self.agents = agents
        self.teams = teams
        self.where = where
        self.errors: list[SpecError] = []

    def fail(self, path: YamlPath, message: str, *, at_key: bool = False) -> None:
        path = self.where.written(path)
        self.errors.append(self.where.error(f"{dotted(path)}: {message}", path, at_key=at_key))

    def unique_names(self) -> None:
        for name in self.teams:
            if name in self.agents:
                self.fail(
                    ("teams", name),
                    f"{name!r} is also the name of an agent; agent and team names must be unique",
                    at_key=True,
                )

    def unknown(self, name: str, *, agents_only: bool) -> str:
        if agents_only or not self.teams:
            hint = suggest(name, self.agents) or f"; defined agents: {', '.join(self.agents)}"
            return f"no agent named {name!r}{hint}"
        hint = suggest(name, [*self.agents, *self.teams]) or (
            f"; defined agents: {', '.join(self.agents)}; teams: {', '.join(self.teams)}"
        )
        return f"no agent or team named {name!r}{hint}"

    def agent_links(self) -> None:
        written = {key for agent in self.agents.values() for key in agent.writes}
        for name, agent in self.agents.items():
            for j, target in enumerate(agent.handoffs):
                path: YamlPath = ("agents", name, "handoffs", j)
                if target == name:
                    self.fail(path, f"{name} cannot hand off to itself")
                elif target in self.teams and target not in self.agents:
                    self.fail(path, f"{target!r} is a team; an agent hands off only to agents")
                elif target not in self.agents:
                    self.fail(path, self.unknown(target, agents_only=True))
            for i, key in enumerate(agent.reads):
                close = suggest(key, written) if key not in written else ""
                if close:
                    self.fail(("agents", name, "reads", i), f"no agent writes {key!r}{close}")

    def team(self, at: YamlPath, team: TeamModel) -> None:
        seen: set[tuple[str, str]] = set()
        for ref in team.refs():
            path = (*at, *ref.path)
            if ref.name in self.agents:
                pass
            elif ref.name in self.teams:
                if ref.agents_only:
                    what = _AGENT_ONLY.get(str(ref.path[0]), "this")
                    self.fail(path, f"{ref.name!r} is a team; {what} must be an agent")
            else:
                self.fail(path, self.unknown(ref.name, agents_only=ref.agents_only))
            if ref.group is None:
                continue
            if (ref.group, ref.label) in seen:
                if ref.group == "stages":
                    self.fail(
                        path, f"stage {ref.label!r} appears twice; give one of them a `name:`"
                    )
                else:
                    self.fail(path, f"{ref.name!r} is listed twice")
            seen.add((ref.group, ref.label))
        if isinstance(team, HandoffsTeam):
            self.handoffs(at, team)

    def handoffs(self, at: YamlPath, team: HandoffsTeam) -> None:
        if team.entry is not None and team.entry not in team.agents:
            self.fail(
                (*at, "entry"),
                f"entry {team.entry!r} is not one of this team's agents"
                f"{suggest(team.entry, team.agents)}; its agents: {', '.join(team.agents)}",
            )
        for member in dict.fromkeys(team.agents):
            spec = self.agents.get(member)
            for j, target in enumerate(spec.handoffs if spec is not None else ()):
                if target in self.agents and target not in team.agents:
                    self.fail(
                        ("agents", member, "handoffs", j),
                        f"{member} hands off to {target!r}, which is not in the "
                        f"{_team_name(at)} (its agents: {', '.join(team.agents)})",
                    )

    def idle_handoffs(self, teams: Sequence[TeamModel]) -> None:
        """Handoffs declared by an agent that is in no handoffs team: never offered."""
        members = {m for t in teams if isinstance(t, HandoffsTeam) for m in t.agents}
        for name, agent in self.agents.items():
            if agent.handoffs and name not in members:
                self.fail(
                    ("agents", name, "handoffs"),
                    f"{name} hands off, but is in no handoffs team (pattern: handoffs), so "
                    "it could never transfer; add it to one or drop its handoffs",
                    at_key=True,
                )

    def cycles(self) -> None:
        state: dict[str, int] = {}  # 1: on the current path, 2: done
        height: dict[str, int] = {}  # levels of teams in a team, itself included

        def visit(name: str, trail: list[str]) -> bool:
            state[name] = height[name] = 1
            for ref in self.teams[name].refs():
                inner = ref.name
                if inner not in self.teams or inner in self.agents or ref.agents_only:
                    continue
                if state.get(inner) == 1:
                    cycle = " -> ".join([*trail[trail.index(inner) :], inner])
                    self.fail(
                        ("teams", name, *ref.path),
                        f"the teams form a cycle ({cycle}); a team cannot contain itself",
                    )
                    return True
                # bounded before recursing further, so a long chain is an error, not a crash
                too_deep = len(trail) >= MAX_DEPTH
                if not too_deep and inner not in state and visit(inner, [*trail, inner]):
                    return True
                height[name] = max(height[name], height.get(inner, 0) + 1)
                if too_deep or height[name] > MAX_DEPTH:
                    self.fail(
                        ("teams", name, *ref.path),
                        f"the teams are nested more than {MAX_DEPTH} levels deep",
                    )
                    return True
            state[name] = 2
            return False

        for name in self.teams:
            if name not in state and visit(name, [name]):
                return


def check_references(
    agents: Mapping[str, AgentRefs],
    teams: Mapping[str, TeamModel],
    root: TeamModel,
    where: Locator,
) -> None:
    """Raise the first reference problem in the file, if any.

    Args:
        agents: the spec's agents by name.
        teams: the spec's named teams (``teams:``).
        root: the root team (``team:``).
        where: the spec file, for positions.

    Raises:
        SpecError: a name is unknown, misplaced, listed twice, or teams form a cycle.
    """
    checker = _Checker(agents, teams, where)
    checker.unique_names()
    checker.agent_links()
    checker.team(("team",), root)
    for name, team in teams.items():
        checker.team(("teams", name), team)
    checker.idle_handoffs([root, *teams.values()])
    checker.cycles()
    found = first_error(checker.errors)
    if found is not None:
        raise found
