"""podium: orchestrate teams of specialized LLM agents.

Runs are cheap, bounded, durable and debuggable from one log. Start with
`Agent`, `tool` and a pattern such as `Orchestrator`; see the README.
"""

from podium._engine._context import MAX_TEXT_CHARS, StepContext, Task
from podium._engine._runner import Runnable
from podium.agent import Agent
from podium.errors import (
    AllModelsFailed,
    BlackboardConflict,
    BlackboardError,
    CircuitOpen,
    ConfigError,
    HandoffError,
    IncompleteResponse,
    JudgeError,
    OutputValidationError,
    PlanError,
    PodiumError,
    ProviderError,
    ReplayDivergence,
    RunBusy,
    RunError,
    SpecError,
    StoreError,
    ToolError,
)
from podium.events import Event, EventKind
from podium.guards import Budget, Check, Limits, LoopPolicy, Verdict
from podium.memory import Blackboard, Entry, EntryStatus
from podium.messages import Message, ToolCall, ToolSpec
from podium.models import (
    CircuitBreaker,
    CircuitBreakerModel,
    FallbackModel,
    Model,
    ModelRequest,
    ModelResponse,
    ScriptedModel,
    Usage,
)
from podium.patterns import (
    ChatMessage,
    GroupChat,
    Handoffs,
    Orchestrator,
    Pipeline,
    Plan,
    Stage,
    Subtask,
)
from podium.registry import Registry
from podium.result import AgentUsage, Result, RunUsage, StopReason
from podium.store import MemoryStore, RunStore, SqliteStore
from podium.tools import Tool, ToolContext, tool

__version__ = "0.1.0"

__all__ = [
    "MAX_TEXT_CHARS",
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
    "__version__",
    "tool",
]
