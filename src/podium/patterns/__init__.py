"""Patterns: small schedulers over the one `invoke(task, ctx)` primitive."""

from podium.patterns._plan import Plan, Subtask
from podium.patterns.orchestrator import Orchestrator

__all__ = ["Orchestrator", "Plan", "Subtask"]
