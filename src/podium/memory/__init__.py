"""Memory: the per-run blackboard, and long-term vector memory.

```python
from podium.memory import HashingEmbedder, SqliteVecMemory, memory_tools
mem = SqliteVecMemory(".podium/memory.db", HashingEmbedder())
```
"""

from podium.memory._blackboard import Blackboard, Entry, EntryStatus, render_entries
from podium.memory._embed import Embedder, HashingEmbedder
from podium.memory._minilm import MiniLMEmbedder
from podium.memory._tools import memory_tools
from podium.memory._vector import Memory, MemoryHit, SqliteVecMemory

__all__ = [
    "Blackboard",
    "Embedder",
    "Entry",
    "EntryStatus",
    "HashingEmbedder",
    "Memory",
    "MemoryHit",
    "MiniLMEmbedder",
    "SqliteVecMemory",
    "memory_tools",
    "render_entries",
]
