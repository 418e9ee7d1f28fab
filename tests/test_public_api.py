"""The public API is a visible decision: this list changes only on purpose."""

from __future__ import annotations

import asyncio
import importlib

import pytest

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
    "JudgeError",
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
    "ReplayDivergence",
    "Result",
    "RunBusy",
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


async def test_sync_twins_inside_an_event_loop_say_to_await() -> None:
    agent = podium.Agent("writer", role="writes")
    calls = [
        ("run_sync", lambda: agent.run_sync("hi", store=podium.MemoryStore())),
        ("resume_sync", lambda: agent.resume_sync("run-1")),
        ("fork_sync", lambda: agent.fork_sync("run-1", "root")),
    ]
    for name, call in calls:
        with pytest.raises(RuntimeError) as info:
            call()
        message = str(info.value)
        assert f"{name}()" in message
        assert f"await {name.removesuffix('_sync')}(" in message


async def test_run_sync_works_in_a_thread_while_a_loop_runs() -> None:
    agent = podium.Agent("writer", role="writes")
    result = await asyncio.to_thread(agent.run_sync, "hi", store=podium.MemoryStore())
    assert result.stop_reason is podium.StopReason.COMPLETED
