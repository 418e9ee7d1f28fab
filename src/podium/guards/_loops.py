"""Loop detectors for handoffs and group chats (tool repeats live in the agent loop)."""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["handoff_cycle", "near_duplicate", "shingles"]

_WORD = re.compile(r"\w+")


def shingles(text: str, size: int = 3) -> set[tuple[str, ...]]:
    """Lower-cased word n-grams of `text` (single words for short texts)."""
    words = _WORD.findall(text.lower())
    if len(words) < size:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def near_duplicate(text: str, others: Sequence[str], threshold: float) -> bool:
    """True when `text` overlaps one of `others` by at least `threshold` (Jaccard)."""
    mine = shingles(text)
    if not mine:
        return True  # an empty message adds nothing
    for other in others:
        theirs = shingles(other)
        if theirs and len(mine & theirs) / len(mine | theirs) >= threshold:
            return True
    return False


def handoff_cycle(hops: Sequence[str], repeats: int) -> list[str] | None:
    """The cycle (e.g. ``[A, B]``) the tail of `hops` went round `repeats` times.

    ``[A, B, A, B, A]`` went round ``[A, B]`` twice.

    `hops` lists the agents that held control since the last blackboard write.
    """
    if repeats < 1:
        return None
    for length in range(2, (len(hops) - 1) // repeats + 1):
        tail = hops[-(length * repeats + 1) :]  # went round the cycle `repeats` times
        cycle = tail[:length]
        if len(set(cycle)) > 1 and all(tail[i] == cycle[i % length] for i in range(len(tail))):
            return list(cycle)
    return None
