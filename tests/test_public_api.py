"""The public API is a visible decision: this list changes only on purpose."""

from __future__ import annotations

import importlib

import podium

PUBLIC = [
    "Agent",
    "AgentUsage",
    "AllModelsFailed",
    "Blackboard",
    "BlackboardConflict",
    "BlackboardError",
    "Budget",
    "ChatMessage",
    "Check",
    "CircuitBreaker",
    "CircuitBreakerModel",
    "CircuitOpen",
    "ConfigError",
    "Entry",
    "EntryStatus",
    "Event",
    "EventKind",
    "FallbackModel",
    "GroupChat",
    "HandoffError",
    "Handoffs",
    "IncompleteResponse",
    "Limits",
    "LoopPolicy",
    "MAX_TEXT_CHARS",
    "MemoryStore",
    "Message",
    "Model",
    "ModelRequest",
    "ModelResponse",
    "Orchestrator",
    "OutputValidationError",
    "Pipeline",
    "Plan",
    "PlanError",
    "PodiumError",
    "ProviderError",
    "Registry",
    "Result",
    "RunError",
    "RunStore",
    "RunUsage",
    "Runnable",
    "ScriptedModel",
    "SpecError",
    "SqliteStore",
    "Stage",
    "StepContext",
    "StopReason",
    "StoreError",
    "Subtask",
    "Task",
    "Tool",
    "ToolCall",
    "ToolContext",
    "ToolError",
    "ToolSpec",
    "Usage",
    "Verdict",
    "tool",
    "__version__",
]


def test_all_is_pinned() -> None:
    assert sorted(podium.__all__) == sorted(PUBLIC)
    assert len(set(podium.__all__)) == len(podium.__all__)


def test_every_public_name_is_importable() -> None:
    module = importlib.import_module("podium")
    for name in podium.__all__:
        assert getattr(module, name) is not None, name
        exec(f"from podium import {name}", {})


def test_errors_share_one_root() -> None:
    errors = [getattr(podium, n) for n in podium.__all__ if n.endswith("Error")]
    errors.append(podium.IncompleteResponse)
    assert all(issubclass(e, podium.PodiumError) for e in errors)
    codes = [e.code for e in errors]
    assert len(set(codes)) == len(codes)
