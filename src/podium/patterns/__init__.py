"""Patterns: small schedulers over the one `invoke(task, ctx)` primitive."""

from podium.patterns._plan import Plan, Subtask
from podium.patterns.group_chat import ChatMessage, GroupChat
from podium.patterns.handoff import Handoffs
from podium.patterns.orchestrator import Orchestrator
from podium.patterns.pipeline import Pipeline, Stage

__all__ = [
    "ChatMessage",
    "GroupChat",
    "Handoffs",
    "Orchestrator",
    "Pipeline",
    "Plan",
    "Stage",
    "Subtask",
]
