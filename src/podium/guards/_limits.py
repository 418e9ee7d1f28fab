"""Hard limits on the shape of a run: turns, depth, fan-out, re-plans."""

from __future__ import annotations

from dataclasses import dataclass

from podium.errors import ConfigError

__all__ = ["Limits", "LoopPolicy"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Structural limits; each stop has its own `StopReason`.

    Args:
        max_turns: model calls one agent may make for one task (caps every
            agent's own `max_turns`; None leaves the agents' values).
        max_depth: nesting of teams inside teams (the top team is depth 0).
        max_fanout: subtasks one plan may have.
        max_replans: times an orchestrator may re-plan after a failed subtask.
    """

    max_turns: int | None = None
    max_depth: int = 4
    max_fanout: int = 20
    max_replans: int = 1

    def __post_init__(self) -> None:
        for name in ("max_depth", "max_fanout", "max_replans"):
            check_count(f"limit {name}", getattr(self, name))
        if self.max_turns is not None:
            check_count("limit max_turns", self.max_turns, least=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class LoopPolicy:
    """Loop detectors (on by default); each stops with ``loop`` and names the steps.

    Args:
        enabled: turn every detector off with False.
        repeated_tool_calls: the same tool with identical arguments this many
            times by one agent in one task.
        handoff_cycles: the same cycle of handoffs (A→B→A…) repeated this many
            times with no new blackboard write in between.
        stale_chat_rounds: group-chat rounds in a row that add no new
            information (a near-duplicate of a recent message, and no new
            blackboard entry).
        similarity: word-shingle overlap (0–1) above which two messages count
            as near-duplicates.
        replan_repeats: an orchestrator producing the same plan again this many
            times.
    """

    enabled: bool = True
    repeated_tool_calls: int = 3
    handoff_cycles: int = 2
    stale_chat_rounds: int = 3
    similarity: float = 0.85
    replan_repeats: int = 1

    def __post_init__(self) -> None:
        for name in (
            "repeated_tool_calls",
            "handoff_cycles",
            "stale_chat_rounds",
            "replan_repeats",
        ):
            check_count(f"loop detector {name}", getattr(self, name))
        similarity = self.similarity
        # NaN would never match (the detector silently off), 0 would match everything
        if isinstance(similarity, bool) or not isinstance(similarity, int | float):
            raise ConfigError(f"loop detector similarity must be a number, not {similarity!r}")
        if not 0 < similarity <= 1:
            raise ConfigError(
                f"loop detector similarity must be above 0 and at most 1, not {similarity}"
            )


def check_count(what: str, value: object, least: int = 0) -> None:
    """Refuse anything but a whole number of at least `least` (NaN would disable a limit)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(f"{what} must be a whole number of at least {least}, not {value!r}")
