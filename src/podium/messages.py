"""Frozen message records exchanged with models.

The shapes follow the common denominator of chat APIs: a system prompt, user
turns, assistant turns that may request tool calls, and tool results that answer
those calls by id. Provider adapters translate them to their wire formats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Message", "Role", "ToolCall", "ToolSpec"]

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCall:
    """A model's request to call a tool.

    `arguments` is the raw JSON text the model produced; it may be malformed, and
    the runtime reports that back to the model instead of crashing.
    """

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolSpec:
    """What a model is told about one tool: name, description, JSON schema."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One chat message.

    Args:
        role: ``system``, ``user``, ``assistant`` or ``tool``.
        content: the text (for ``tool`` messages, the tool's result).
        tool_calls: tool calls an assistant message requests.
        tool_call_id: for ``tool`` messages, the id of the call being answered.
        name: for ``tool`` messages, the tool name.
    """

    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = field(default=())
    tool_call_id: str | None = None
    name: str | None = None

    @classmethod
    def system(cls, content: str) -> Message:
        """A system message."""
        if cls is Message:
            return _message("system", content)
        return cls(role="system", content=content)

    @classmethod
    def user(cls, content: str) -> Message:
        """A user message."""
        if cls is Message:
            return _message("user", content)
        return cls(role="user", content=content)

    @classmethod
    def assistant(cls, content: str = "", tool_calls: tuple[ToolCall, ...] = ()) -> Message:
        """An assistant message, optionally requesting tool calls."""
        return cls(role="assistant", content=content, tool_calls=tool_calls)

    @classmethod
    def tool(cls, call: ToolCall, content: str) -> Message:
        """The result of `call`."""
        return cls(role="tool", content=content, tool_call_id=call.id, name=call.name)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, used in the run log."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = [
                {"id": c.id, "name": c.name, "arguments": c.arguments} for c in self.tool_calls
            ]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        if self.name is not None:
            out["name"] = self.name
        return out


_new = object.__new__
_set_role, _set_content, _set_tool_calls, _set_tool_call_id, _set_name = (
    Message.__dict__[name].__set__
    for name in ("role", "content", "tool_calls", "tool_call_id", "name")
)


def _message(role: Role, content: str) -> Message:
    """``Message(role=role, content=content)``, built faster than by its ``__init__``.

    Every model call makes one; the frozen dataclass's keyword ``__init__`` costs
    about twice as much. tests/test_events.py checks that both agree.
    """
    message: Message = _new(Message)
    _set_role(message, role)
    _set_content(message, content)
    _set_tool_calls(message, ())
    _set_tool_call_id(message, None)
    _set_name(message, None)
    return message
