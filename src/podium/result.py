"""What a run returns: output, typed stop reason, usage totals."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["AgentUsage", "Result", "RunUsage", "StopReason"]


class StopReason(StrEnum):
    """Why a run ended. Guard stops are results, not exceptions."""

    COMPLETED = "completed"
    ERROR = "error"
    BUDGET = "budget"
    MAX_TURNS = "max_turns"
    MAX_DEPTH = "max_depth"
    MAX_FANOUT = "max_fanout"
    MAX_REPLANS = "max_replans"
    LOOP = "loop"
    VERIFICATION_FAILED = "verification_failed"
    PROVIDER_FAILED = "provider_failed"
    WAITING_APPROVAL = "waiting_approval"
    WAITING_INPUT = "waiting_input"
    REJECTED = "rejected"


@dataclass(slots=True, kw_only=True)
class AgentUsage:
    """Totals for one agent (or the whole run)."""

    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    wall_time_s: float = 0.0

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "model_calls": self.model_calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
            "wall_time_s": self.wall_time_s,
        }


@dataclass(slots=True, kw_only=True)
class RunUsage:
    """Run totals, per agent and per model."""

    total: AgentUsage = field(default_factory=AgentUsage)
    per_agent: dict[str, AgentUsage] = field(default_factory=dict)
    per_model: dict[str, AgentUsage] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "total": self.total.to_dict(),
            "per_agent": {k: v.to_dict() for k, v in self.per_agent.items()},
            "per_model": {k: v.to_dict() for k, v in self.per_model.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunUsage:
        """Inverse of `to_dict`."""
        return cls(
            total=AgentUsage(**data.get("total", {})),
            per_agent={k: AgentUsage(**v) for k, v in data.get("per_agent", {}).items()},
            per_model={k: AgentUsage(**v) for k, v in data.get("per_model", {}).items()},
        )


@dataclass(slots=True, kw_only=True)
class Result:
    """The outcome of a run.

    Attributes:
        run_id: the run's id in the store.
        output: the final output (`str` or the pydantic model the team returns);
            None when the run did not complete.
        stop_reason: why it ended.
        usage: tokens, cost, calls and wall time, in total and per agent.
        error: what went wrong, when `stop_reason` is ``error``.
        offline: true when only the offline scripted model answered.
        partial: the blackboard's latest values when the run ended (what was
            produced so far, also when a guard stopped the run).
    """

    run_id: str
    output: Any
    stop_reason: StopReason
    usage: RunUsage
    error: str | None = None
    offline: bool = False
    partial: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the run completed."""
        return self.stop_reason is StopReason.COMPLETED

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (`podium run --json` prints this)."""
        output = self.output
        if hasattr(output, "model_dump"):
            output = output.model_dump(mode="json")
        return {
            "run_id": self.run_id,
            "output": output,
            "stop_reason": str(self.stop_reason),
            "error": self.error,
            "offline": self.offline,
            "usage": self.usage.to_dict(),
            "partial": self.partial,
        }
