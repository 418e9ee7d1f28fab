"""What a run may cost before it starts: the most its limits allow, and the least.

Nothing runs and no model is called: `estimate` walks the team (agents,
orchestrators, pipelines, group chats and handoffs, nested in any way) and
bounds every *call site* (one agent in one role of one team):

- ``n``, invocations at most: a worker may get every one of a plan's
  ``max_subtasks`` (default ``limits.max_fanout``) subtasks, each tried
  ``1 + max_review_retries`` times with a reviewer, in each of
  ``1 + limits.max_replans`` plans; a stage with a check runs twice; a chat
  speaker speaks in up to ``max_rounds`` rounds; a handoffs agent holds up to
  ``max_handoffs + 1`` hops.
- ``T``, model calls per invocation: ``max_turns`` capped by
  ``limits.max_turns``. An agent without tools cannot get past its
  ``max_malformed_tool_calls``-th call of a tool it does not hold, so it makes
  at most that many calls (one more when its output is structured: the repair).
- ``I``, input tokens of its first call, at most: `input_token_bound` of the
  system prompt, the task, the tool schemas and the output schema, plus what
  other agents may pass in (a plan's instructions, dependency results, earlier
  stages, chat messages, handoff notes, blackboard reads: each counted at the
  producing agent's ``max_tokens``) plus the pattern's own prompt text.
- ``g``, input added by each earlier turn: ``max_tokens`` (its answer or tool
  calls) + ``tool_result_tokens`` when it has tools + 64 (+2048 when a
  structured answer may need a repair message).

Then input ``= n·(T·I + g·T(T−1)/2)``, output ``= n·T·max_tokens``, and USD
prices both at the model's price. Where members share work (the workers of one
plan, speakers of a chat chosen by a selector, agents of a handoffs team) the
run's total counts the costliest member taking all of it, so per-agent rows may
add up to more than the total.

The least a successful run costs is one call of every agent that must run
(each plan's planner and aggregator, every pipeline stage, the cheapest worker,
the first speaker, the entry agent) with a one-token answer and its known
prompt counted at 4 bytes per token.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from podium.guards._budget import Budget
from podium.guards._estimate_walk import Cost, Walker, model_of
from podium.guards._limits import Limits
from podium.models._pricing import Price

__all__ = ["AgentEstimate", "Cost", "Estimate", "estimate"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentEstimate:
    """One agent, over every role it has in the team.

    Attributes:
        name: the agent.
        model: its model (``provider:name``).
        price: the model's price, None when unknown.
        roles: where it is used, e.g. ``planner``, ``worker of research-team``.
        max_calls: model calls it may make, at most.
        max_input_tokens: input tokens of its largest possible call.
        worst: its worst case.
        least: its share of the least a successful run costs.
    """

    name: str
    model: str
    price: Price | None
    roles: tuple[str, ...]
    max_calls: int
    max_input_tokens: int
    worst: Cost
    least: Cost


@dataclass(frozen=True, slots=True, kw_only=True)
class Estimate:
    """The bounds of one run; see the module docstring for how they are computed."""

    agents: tuple[AgentEstimate, ...]
    worst: Cost
    least: Cost
    budget: Budget | None
    limits: Limits
    tool_result_tokens: int = 0
    notes: tuple[str, ...] = ()

    @property
    def unpriced(self) -> tuple[str, ...]:
        """Models without a known price (their calls count no dollars)."""
        return tuple(sorted({a.model for a in self.agents if a.price is None}))

    @property
    def allowed(self) -> Cost:
        """What the budget lets the run spend: the worst case, capped by each budget cap."""
        b, w = self.budget, self.worst
        if b is None:
            return w
        calls = w.calls if b.model_calls is None else min(w.calls, b.model_calls)
        usd = w.usd if b.usd is None else min(w.usd, b.usd)
        tokens_in, tokens_out = w.input_tokens, w.output_tokens
        if b.tokens is not None and w.tokens > b.tokens:
            tokens_in = math.floor(b.tokens * tokens_in / w.tokens)
            tokens_out = b.tokens - tokens_in
            prices = [a.price for a in self.agents if a.price is not None]
            dearest = max((max(p.input, p.output) for p in prices), default=0.0)
            usd = min(usd, b.tokens * dearest / 1e6)
        return Cost(calls=calls, input_tokens=tokens_in, output_tokens=tokens_out, usd=usd)

    def to_dict(self) -> dict[str, Any]:
        """The estimate as one JSON-ready object (what ``podium estimate --json`` prints)."""
        return {
            "agents": [
                {
                    "name": a.name,
                    "model": a.model,
                    "price": asdict(a.price) if a.price is not None else None,
                    "roles": list(a.roles),
                    "max_calls": a.max_calls,
                    "max_input_tokens": a.max_input_tokens,
                    "worst": a.worst.to_dict(),
                    "least": a.least.to_dict(),
                }
                for a in self.agents
            ],
            "worst": self.worst.to_dict(),
            "least": self.least.to_dict(),
            "budget": asdict(self.budget) if self.budget is not None else None,
            "allowed": self.allowed.to_dict(),
            "limits": asdict(self.limits),
            "tool_result_tokens": self.tool_result_tokens,
            "unpriced": list(self.unpriced),
            "notes": list(self.notes),
        }


def estimate(
    runnable: Any,
    task: str,
    *,
    inputs: Mapping[str, str] | None = None,
    budget: Budget | None = None,
    limits: Limits | None = None,
    tool_result_tokens: int = 0,
) -> Estimate:
    """The worst and least cost of running `runnable` on `task`, and what `budget` allows.

    Args:
        runnable: an agent or a team (of any pattern, nested in any way).
        task: the task text the run would get.
        inputs: the run's named inputs.
        budget: the run's budget; the runnable's own ``budget`` by default.
        limits: the run's limits; the runnable's own ``limits`` by default.
        tool_result_tokens: tokens each tool-using turn may add with its tool
            results (not counted by default: results are bounded only by
            podium's 32,000-character cut).

    Returns:
        The per-agent and whole-run bounds; `Estimate.allowed` applies the budget.
    """
    budget = budget if budget is not None else getattr(runnable, "budget", None)
    limits = limits or getattr(runnable, "limits", None) or Limits()
    walker = Walker(limits, inputs or {}, tool_result_tokens)
    root = walker.run(runnable, task)
    rows = tuple(
        AgentEstimate(
            name=name,
            model=model_of(row.agent)[0],
            price=model_of(row.agent)[1],
            roles=tuple(row.roles),
            max_calls=row.max_calls,
            max_input_tokens=row.max_input,
            worst=row.worst,
            least=row.least,
        )
        for name, row in walker.rows.items()
    )
    notes = list(walker.notes)
    unpriced = sorted({a.model for a in rows if a.price is None})
    if unpriced:
        where = ", ".join(unpriced)
        notes.append(f"no known price for {where}: their calls count no dollars")
        if budget is not None and budget.usd is not None:
            notes.append(
                f"the budget caps dollars and {where} has no price: the run fails closed "
                "(stops before its first call to it); set one with `prices:` in the spec "
                "or podium.models.set_price"
            )
    if budget is not None and budget.usd is not None and root.least.usd > budget.usd:
        notes.append(
            f"the budget (${budget.usd:g}) is below what even the least run costs "
            f"(about ${root.least.usd:.6f}): it will stop with `budget`"
        )
    return Estimate(
        agents=rows,
        worst=root.worst,
        least=root.least,
        budget=budget if budget is not None and not budget.empty else None,
        limits=limits,
        tool_result_tokens=tool_result_tokens,
        notes=tuple(notes),
    )
