"""Bounding a team's model calls: the walk over its agents and patterns.

Private to `podium.guards._estimate`, which documents the formulas. The walk is
duck-typed (guards do not import patterns): anything with a planner and
workers is an orchestrator, with stages a pipeline, with participants a group
chat, with agents and ``max_handoffs`` a handoffs team, and with ``max_turns``
and ``max_tokens`` an agent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from podium._engine._context import Task
from podium._engine._loop import LoopOptions, render_task, system_prompt
from podium._engine._output import schema_of
from podium.guards._budget import input_token_bound
from podium.guards._limits import Limits
from podium.messages import Message
from podium.models._base import ModelRequest
from podium.models._pricing import Price, get_price, price_of
from podium.models._resolve import default_model_name

__all__ = ["PATTERN_SCHEMA", "Cost", "Walker", "model_of"]

# The patterns' own prompt text, in bytes, at most (pinned by tests/guards/test_estimate.py).
PLANNER_TEXT = 3072  # planning guide, plan schema and its instruction
AGGREGATOR_TEXT = 512
REVIEWER_TEXT = 1536  # review guide, verdict schema
SELECTOR_TEXT = 768
CHAT_TEXT = 512
HANDOFF_TOOL = 384  # one transfer_to_NAME tool, without its payload schema
FEEDBACK = 2048  # a re-plan reason or a failed check's feedback
REPAIR = 2048  # the message asking for a corrected structured answer
PER_TURN = 64
UNKNOWN_ENTRY = 2048  # a blackboard entry no agent of the team writes
_LABEL = 256  # a result's label in a prompt (subtask id, assignee, instructions)
#: The output type of a pattern's own structured answer (plan, review, next speaker).
PATTERN_SCHEMA = object()


@dataclass(frozen=True, slots=True, kw_only=True)
class Cost:
    """Model calls, tokens and dollars (dollars of priced models only)."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    usd: float = 0.0

    @property
    def tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            calls=self.calls + other.calls,
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            usd=self.usd + other.usd,
        )

    def times(self, n: int) -> Cost:
        """This cost `n` times over."""
        return Cost(
            calls=self.calls * n,
            input_tokens=self.input_tokens * n,
            output_tokens=self.output_tokens * n,
            usd=self.usd * n,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with ``tokens`` added."""
        return {**asdict(self), "usd": round(self.usd, 6), "tokens": self.tokens}


def _most(costs: Sequence[Cost]) -> Cost:
    return max(costs, key=lambda c: (c.usd, c.tokens), default=Cost())


def _least(costs: Sequence[Cost]) -> Cost:
    return min(costs, key=lambda c: (c.usd, c.tokens), default=Cost())


# --- the shapes of what can be estimated ----------------------------------------------


@runtime_checkable
class _AgentShape(Protocol):
    name: str
    role: str
    instructions: str
    tools: Sequence[Any]
    max_turns: int
    max_tokens: int
    max_malformed_tool_calls: int
    output_type: type[Any]
    reads: Sequence[str]
    writes: Sequence[str]
    handoffs: Sequence[str]


@runtime_checkable
class _OrchestratorShape(Protocol):
    name: str
    planner: Any
    workers: Sequence[Any]
    aggregator: Any
    reviewer: Any
    max_review_retries: int
    max_subtasks: int | None
    output_type: type[Any]


@runtime_checkable
class _PipelineShape(Protocol):
    name: str
    stages: Sequence[Any]


@runtime_checkable
class _ChatShape(Protocol):
    name: str
    participants: Sequence[Any]
    selector: Any
    max_rounds: int
    visible_window: int | None


@runtime_checkable
class _HandoffsShape(Protocol):
    name: str
    agents: Sequence[Any]
    max_handoffs: int
    entry: str | None


def _structured(output_type: Any) -> bool:
    return isinstance(output_type, type) and issubclass(output_type, BaseModel)


def model_of(agent: Any) -> tuple[str, Price | None]:
    model = getattr(agent, "model", None) or default_model_name()
    if isinstance(model, str):
        return model, get_price(model)
    return str(getattr(model, "name", type(model).__name__)), price_of(model)


@dataclass(slots=True)
class _Row:
    agent: Any
    roles: list[str] = field(default_factory=list)
    max_calls: int = 0
    max_input: int = 0
    worst: Cost = field(default_factory=Cost)
    least: Cost = field(default_factory=Cost)


@dataclass(frozen=True, slots=True)
class _Node:
    worst: Cost  # with the caller's multiplier
    least: Cost  # one invocation in a successful run


@dataclass(frozen=True, slots=True, kw_only=True)
class _At:
    """Where a runnable is visited: how often, with what task, inside which team."""

    n: int  # invocations at most
    least_n: int  # invocations in every successful run (0: maybe none)
    text: str = ""  # the task text it gets, when known
    extra: int = 0  # tokens other agents may add to its task
    role: str = "agent"
    team: str = ""


class Walker:
    """Visits a team once, filling per-agent rows; `run` returns the whole run's bounds."""

    def __init__(self, limits: Limits, inputs: Mapping[str, str], tool_result_tokens: int):
        self.limits = limits
        self.inputs = dict(inputs)
        self.tool_result_tokens = tool_result_tokens
        self.rows: dict[str, _Row] = {}
        self.notes: list[str] = []
        self.writers: dict[str, int] = {}

    # -- what flows between members ---------------------------------------------------

    def out(self, r: Any) -> int:
        """The most output tokens `r`'s answer can have."""
        if isinstance(r, _OrchestratorShape):
            return int((r.aggregator or r.planner).max_tokens)
        if isinstance(r, _PipelineShape):
            return self.out(_stage(r.stages[-1])[0]) if r.stages else 0
        if isinstance(r, _ChatShape):
            return max((self.out(p) for p in r.participants), default=0)
        if isinstance(r, _HandoffsShape):
            return max((self.out(a) for a in r.agents), default=0)
        return int(getattr(r, "max_tokens", 0))

    def collect_writers(self, r: Any) -> None:
        """Blackboard key -> the largest max_tokens of an agent writing it."""
        if isinstance(r, _AgentShape):
            for key in r.writes:
                self.writers[key] = max(self.writers.get(key, 0), r.max_tokens)
            return
        for member in _members(r):
            self.collect_writers(member)

    # -- visiting -----------------------------------------------------------------------

    def run(self, runnable: Any, task: str) -> _Node:
        """Visit the root `runnable`, given `task`; rows and notes fill in as it goes."""
        self.collect_writers(runnable)
        return self.visit(runnable, _At(n=1, least_n=1, text=task))

    def visit(self, r: Any, at: _At) -> _Node:
        if isinstance(r, _OrchestratorShape):
            return self.orchestrator(r, at)
        if isinstance(r, _PipelineShape):
            return self.pipeline(r, at)
        if isinstance(r, _ChatShape):
            return self.chat(r, at)
        if isinstance(r, _HandoffsShape):
            return self.handoffs(r, at)
        if isinstance(r, _AgentShape):
            return self.site(r, at)
        name = getattr(r, "name", type(r).__name__)
        self.notes.append(f"{name} is not a podium agent or team: its model calls are not counted")
        return _Node(Cost(), Cost())

    def site(
        self,
        agent: Any,
        at: _At,
        *,
        output_type: Any = None,
        pattern_text: int = 0,
        extra_tools: int = 0,
    ) -> _Node:
        """One agent in one role; `output_type` PATTERN_SCHEMA: the pattern's own schema."""
        output_type = agent.output_type if output_type is None else output_type
        structured = output_type is PATTERN_SCHEMA or _structured(output_type)
        if output_type is PATTERN_SCHEMA:  # its schema is part of `pattern_text`
            output_type = str
        has_tools = bool(agent.tools) or extra_tools > 0
        turns = agent.max_turns
        if self.limits.max_turns is not None:
            turns = min(turns, self.limits.max_turns)
        if not has_tools:
            malformed = max(agent.max_malformed_tool_calls, 1)  # its first call is made
            turns = min(turns, malformed + (1 if structured else 0))
        system = system_prompt(agent, LoopOptions(output_type=output_type))
        user = render_task(Task(text=at.text, inputs=self.inputs))
        specs = tuple(t.spec for t in agent.tools)
        request = ModelRequest(
            messages=(Message.system(system), Message.user(user)),
            tools=specs,
            max_tokens=agent.max_tokens,
            output_schema=schema_of(output_type) if _structured(output_type) else None,
        )
        memory = sum(self.writers.get(k, UNKNOWN_ENTRY) + _LABEL for k in agent.reads)
        first = input_token_bound(request) + at.extra + pattern_text + extra_tools + memory
        growth = agent.max_tokens + PER_TURN
        growth += self.tool_result_tokens if has_tools else 0
        growth += REPAIR if structured else 0
        price = model_of(agent)[1]
        one = _cost(
            price,
            calls=turns,
            input_tokens=turns * first + growth * turns * (turns - 1) // 2,
            output_tokens=turns * agent.max_tokens,
        )
        known = len(system.encode()) + len(user.encode())
        known += sum(len(json.dumps(s.parameters).encode()) for s in specs)
        least = _cost(price, calls=1, input_tokens=math.ceil(known / 4), output_tokens=1)
        row = self.rows.setdefault(agent.name, _Row(agent))
        role = f"{at.role} in {at.team}" if at.team else at.role
        if role not in row.roles:
            row.roles.append(role)
        row.max_calls += at.n * turns
        row.max_input = max(row.max_input, first + (turns - 1) * growth)
        row.worst += one.times(at.n)
        row.least += least.times(at.least_n)
        return _Node(one.times(at.n), least)

    def orchestrator(self, r: _OrchestratorShape, at: _At) -> _Node:
        plans = 1 + self.limits.max_replans
        fanout = r.max_subtasks or self.limits.max_fanout
        attempts = 1 + r.max_review_retries if r.reviewer is not None else 1
        results = max((self.out(w) for w in r.workers), default=0)
        cards = "\n".join(f"- {w.name}: {w.role or 'general purpose'}" for w in r.workers)
        planner = self.site(
            r.planner,
            _At(
                n=at.n * plans,
                least_n=at.least_n,
                text=f"{at.text}\n\n{cards}",
                extra=at.extra + FEEDBACK,
                role="planner",
                team=r.name,
            ),
            output_type=PATTERN_SCHEMA,
            pattern_text=PLANNER_TEXT,
        )
        subtasks = at.n * plans * fanout * attempts
        instructions = int(r.planner.max_tokens)
        feedback = 0
        reviewer = _Node(Cost(), Cost())
        if isinstance(r.reviewer, _AgentShape):
            feedback = r.reviewer.max_tokens
            reviewer = self.site(
                r.reviewer,
                _At(
                    n=subtasks,
                    least_n=at.least_n,
                    extra=instructions + results,
                    role="reviewer",
                    team=r.name,
                ),
                output_type=PATTERN_SCHEMA,
                pattern_text=REVIEWER_TEXT,
            )
        elif r.reviewer is not None:
            feedback = FEEDBACK
        workers = [
            self.visit(
                w,
                _At(
                    n=subtasks,
                    least_n=0,
                    extra=instructions + (fanout - 1) * (results + _LABEL) + feedback,
                    role="worker",
                    team=r.name,
                ),
            )
            for w in r.workers
        ]
        aggregator = self.site(
            r.aggregator or r.planner,
            _At(
                n=at.n * plans,
                least_n=at.least_n,
                text=at.text,
                extra=at.extra + fanout * (results + _LABEL),
                role="aggregator",
                team=r.name,
            ),
            output_type=r.output_type,
            pattern_text=AGGREGATOR_TEXT,
        )
        cheapest = _least([w.least for w in workers])
        return _Node(
            planner.worst + reviewer.worst + _most([w.worst for w in workers]) + aggregator.worst,
            planner.least + reviewer.least + cheapest + aggregator.least,
        )

    def pipeline(self, r: _PipelineShape, at: _At) -> _Node:
        worst, least = Cost(), Cost()
        previous: Any = None
        for stage in r.stages:
            runnable, check = _stage(stage)
            extra = at.extra + (FEEDBACK if check is not None else 0)
            if previous is not None and not getattr(runnable, "reads", ()):
                extra += self.out(previous) + _LABEL
            node = self.visit(
                runnable,
                _At(
                    n=at.n * (2 if check is not None else 1),
                    least_n=at.least_n,
                    text=at.text,
                    extra=extra,
                    role="stage",
                    team=r.name,
                ),
            )
            worst, least = worst + node.worst, least + node.least
            previous = runnable
        return _Node(worst, least)

    def chat(self, r: _ChatShape, at: _At) -> _Node:
        rounds, members = r.max_rounds, list(r.participants)
        window = r.visible_window  # None: everything said so far
        visible = rounds - 1 if window is None else min(window, rounds - 1)
        said = visible * (max((self.out(p) for p in members), default=0) + _LABEL)
        names = sum(len(p.name) + 2 for p in members)
        robin = r.selector == "round_robin"
        selector = _Node(Cost(), Cost())
        if isinstance(r.selector, _AgentShape):
            cards = sum(
                len(f"- {p.name}: {p.role or 'general purpose'}\n".encode()) for p in members
            )
            choices = 2 * sum(len(p.name) + 4 for p in members) + 32  # its schema lists them
            selector = self.site(
                r.selector,
                _At(
                    n=at.n * rounds,
                    least_n=at.least_n,
                    text=at.text,
                    extra=said + cards + choices,
                    role="selector",
                    team=r.name,
                ),
                output_type=PATTERN_SCHEMA,
                pattern_text=SELECTOR_TEXT,
            )
        nodes = []
        for i, member in enumerate(members):
            turns = math.ceil((rounds - i) / len(members)) if robin else rounds
            at_member = _At(
                n=at.n * turns,
                least_n=at.least_n if robin and i == 0 else 0,
                text=at.text,
                extra=at.extra + said,
                role="participant",
                team=r.name,
            )
            if isinstance(member, _AgentShape):  # a chat agent answers in text
                nodes.append(
                    self.site(member, at_member, output_type=str, pattern_text=CHAT_TEXT + names)
                )
            else:
                nodes.append(self.visit(member, at_member))
        if robin:
            worst = sum((n.worst for n in nodes), Cost())
            least = nodes[0].least if nodes else Cost()
        else:
            worst = _most([n.worst for n in nodes])
            least = _least([n.least for n in nodes])
        return _Node(worst + selector.worst, least + selector.least)

    def handoffs(self, r: _HandoffsShape, at: _At) -> _Node:
        hops = r.max_handoffs + 1
        by_name = {a.name: a for a in r.agents}
        notes = (hops - 1) * (max((a.max_tokens for a in r.agents), default=0) + _LABEL)
        entry = r.entry or (r.agents[0].name if r.agents else "")
        nodes: dict[str, _Node] = {}
        for agent in r.agents:
            tools = 0
            for target in (by_name[t] for t in agent.handoffs if t in by_name):
                # its name is in the tool's name, description, schema title and payload
                tools += HANDOFF_TOOL + len(target.role.encode()) + 4 * len(target.name)
                schema: Any = getattr(target, "handoff_input", None)
                if _structured(schema):
                    tools += len(json.dumps(schema_of(schema)).encode())
            nodes[agent.name] = self.site(
                agent,
                _At(
                    n=at.n * hops,
                    least_n=at.least_n if agent.name == entry else 0,
                    text=at.text,
                    extra=at.extra + notes,
                    role="handoffs agent",
                    team=r.name,
                ),
                extra_tools=tools,
            )
        least = nodes[entry].least if entry in nodes else Cost()
        return _Node(_most([n.worst for n in nodes.values()]), least)


def _stage(stage: Any) -> tuple[Any, Any]:
    runnable = getattr(stage, "runnable", None)
    return (stage, None) if runnable is None else (runnable, getattr(stage, "check", None))


def _members(r: Any) -> list[Any]:
    if isinstance(r, _OrchestratorShape):
        found = [r.planner, *r.workers, r.aggregator, r.reviewer]
    elif isinstance(r, _PipelineShape):
        found = [_stage(s)[0] for s in r.stages]
    elif isinstance(r, _ChatShape):
        found = [*r.participants, r.selector]
    elif isinstance(r, _HandoffsShape):
        found = list(r.agents)
    else:
        found = []
    return [m for m in found if m is not None and not isinstance(m, str)]


def _cost(price: Price | None, *, calls: int, input_tokens: int, output_tokens: int) -> Cost:
    usd = price.cost(input_tokens, output_tokens) if price is not None else 0.0
    return Cost(calls=calls, input_tokens=input_tokens, output_tokens=output_tokens, usd=usd)
