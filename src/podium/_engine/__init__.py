"""The engine: agent loop, tool execution, run recording (private)."""
