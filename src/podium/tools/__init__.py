"""Tools: typed functions with effects, approval flags and timeouts."""

from podium.tools._tool import Effect, Tool, ToolContext, tool

__all__ = ["Effect", "Tool", "ToolContext", "tool"]
