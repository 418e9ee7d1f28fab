"""The `Model` protocol and the request/response records it speaks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from podium.messages import Message, ToolCall, ToolSpec

__all__ = ["FinishReason", "Model", "ModelRequest", "ModelResponse", "Usage"]

FinishReason = Literal["stop", "tool_calls", "length", "content_filter", "other"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    """Tokens and cost of one model call (or a sum of calls)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelRequest:
    """Everything a model needs for one call.

    Args:
        messages: the conversation, system message first when there is one.
        tools: tools the model may call.
        max_tokens: cap on output tokens; adapters always send one.
        temperature: sampling temperature, provider default when None.
        output_schema: JSON schema the answer must follow, when structured output
            is wanted (adapters may pass it as a response format hint).
        output_name: a short name for that schema (e.g. ``Plan``).
    """

    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    max_tokens: int = 1024
    temperature: float | None = None
    output_schema: dict[str, Any] | None = None
    output_name: str | None = None


_set_messages, _set_tools, _set_max_tokens, _set_temperature, _set_schema, _set_output_name = (
    ModelRequest.__dict__[name].__set__
    for name in (
        "messages",
        "tools",
        "max_tokens",
        "temperature",
        "output_schema",
        "output_name",
    )
)


def make_request(
    messages: tuple[Message, ...],
    tools: tuple[ToolSpec, ...],
    max_tokens: int,
    temperature: float | None,
    output_schema: dict[str, Any] | None,
    output_name: str | None,
) -> ModelRequest:
    """`ModelRequest(...)` with every field given, built faster than by its ``__init__``.

    The agent loop makes one per call; the frozen dataclass's keyword ``__init__``
    costs about twice as much. tests/test_events.py checks that both agree.
    """
    request: ModelRequest = object.__new__(ModelRequest)
    _set_messages(request, messages)
    _set_tools(request, tools)
    _set_max_tokens(request, max_tokens)
    _set_temperature(request, temperature)
    _set_schema(request, output_schema)
    _set_output_name(request, output_name)
    return request


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelResponse:
    """A model's answer: text and/or tool calls, with usage and finish reason."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = field(default=())
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    finish_reason: FinishReason = "stop"


@runtime_checkable
class Model(Protocol):
    """Anything that answers a `ModelRequest`.

    `name` is the ``provider:model`` string shown in logs and cost tables.
    `offline` is true for models that do not call a real LLM (the scripted model),
    so every output they produce can be labelled as such.
    """

    @property
    def name(self) -> str:
        """``provider:model``."""
        ...

    @property
    def offline(self) -> bool:
        """True when no real LLM is behind this model."""
        ...

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Answer one request; raise `ProviderError` on failure."""
        ...
