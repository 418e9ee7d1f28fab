"""Test helpers for podium users: offline models and an in-memory store.

```python
from podium.testing import ScriptedModel, MemoryStore, call
model = ScriptedModel([call("search", query="x"), "final answer"])
```
"""

from __future__ import annotations

import json
from typing import Any

from podium.messages import ToolCall
from podium.models._pricing import Price
from podium.models._scripted import ScriptedModel, agent_of, count_tokens
from podium.store._memory import MemoryStore

__all__ = ["MemoryStore", "Price", "ScriptedModel", "agent_of", "call", "count_tokens"]


def call(name: str, arguments: str | None = None, /, **kwargs: Any) -> ToolCall:
    """A scripted tool call: ``call("search", query="x")`` or raw JSON text."""
    raw = arguments if arguments is not None else json.dumps(kwargs)
    return ToolCall(id="", name=name, arguments=raw)
