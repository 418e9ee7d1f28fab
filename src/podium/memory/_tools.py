"""Long-term memory as agent tools: `recall` (read) and `remember` (write)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from podium.errors import ConfigError
from podium.memory._vector import Memory
from podium.observe._redact import default_redactor
from podium.tools._tool import Tool, ToolContext, tool

__all__ = ["memory_tools"]

RecallK = Annotated[int, Field(ge=1, le=50, description="how many notes to return")]


def memory_tools(memory: Memory, *, namespace: str | None = None) -> list[Tool]:
    """The tools that give an agent long-term memory: ``recall`` and ``remember``.

    ``remember(text)`` (write effect) stores a note with its provenance — agent,
    run id and step — in its metadata; secrets in it are redacted first, as in
    the run log. Its id is the call's idempotency key, so a
    resumed run that repeats the call replaces the note instead of duplicating it.
    ``recall(query, k=5)`` (read effect) returns the most similar notes, best
    first, as ``[{"text", "score", "id"}, ...]``.

    ```python
    mem = SqliteVecMemory(".podium/memory.db", HashingEmbedder())
    agent = Agent("assistant", tools=[*memory_tools(mem, namespace="assistant")])
    ```

    Args:
        memory: where notes are kept (any `Memory`).
        namespace: keeps these tools' notes apart from others in the same
            memory: ``remember`` tags notes with it and ``recall`` sees only
            notes with the same tag. None shares the whole memory.

    Returns:
        ``[recall, remember]``, ready for ``Agent(tools=...)``.
    """
    if namespace is not None and not namespace:
        raise ConfigError("memory_tools: namespace must be a non-empty string or None")
    where = {"namespace": namespace} if namespace is not None else None
    scope = f" (namespace {namespace!r})" if namespace is not None else ""

    @tool(
        effect="read",
        description=f"Search long-term memory{scope} for notes relevant to a query; best first.",
    )
    async def recall(query: str, k: RecallK = 5) -> list[dict[str, Any]]:
        hits = await memory.search(query, k=k, where=where)
        return [{"text": h.text, "score": round(h.score, 3), "id": h.id} for h in hits]

    @tool(
        effect="write",
        idempotent=True,
        description=(
            f"Save a short, self-contained note to long-term memory{scope}, "
            "to be recalled in later tasks and runs."
        ),
    )
    async def remember(text: str, ctx: ToolContext) -> str:
        if not text.strip():
            return "error: nothing to remember (the text is empty)"
        text = default_redactor().scrub(text)  # the memory file outlives the run's log
        metadata: dict[str, Any] = {"agent": ctx.agent, "run_id": ctx.run_id, "step": ctx.step}
        if namespace is not None:
            metadata["namespace"] = namespace
        entry_id = await memory.add(text, metadata=metadata, id=ctx.idempotency_key)
        return f"remembered (id {entry_id})"

    return [recall, remember]
