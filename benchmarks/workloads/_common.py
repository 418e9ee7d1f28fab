"""Shared helpers: a scripted model that times itself, text generators, result rows."""

from __future__ import annotations

import json
import random
import statistics
import time
from typing import Any

from podium import ModelRequest, ModelResponse
from podium.testing import ScriptedModel, count_tokens

_VOCABULARY = (
    "tide pool anemone crab snail algae kelp urchin barnacle mussel limpet starfish "
    "sculpin shrimp wave salt heat shade rock ledge crevice current plankton drift "
    "sample survey count transect quadrat season spring neap ebb flood zone upper "
    "middle lower splash spray temperature oxygen salinity pH predator grazer bloom"
)
_WORDS = _VOCABULARY.split()


class TimedModel(ScriptedModel):
    """`ScriptedModel` that adds up the wall time spent inside `request()`.

    The scripted model still records every request in `.requests`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.model_time = 0.0
        self.calls = 0

    async def request(self, request: ModelRequest) -> ModelResponse:
        started = time.perf_counter()
        try:
            return await super().request(request)
        finally:
            self.model_time += time.perf_counter() - started
            self.calls += 1


def prose(tokens: int, seed: int | str) -> str:
    """Deterministic varied text of about `tokens` scripted tokens (4 bytes each)."""
    rng = random.Random(str(seed))
    words: list[str] = []
    size = 0
    while size < tokens * 4:
        word = rng.choice(_WORDS)
        words.append(word)
        size += len(word) + 1
    return " ".join(words)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def row(name: str, value: float, unit: str, target: str = "", passed: bool | None = None) -> dict:
    """One line of the printed table (and of the JSON)."""
    return {"metric": name, "value": value, "unit": unit, "target": target, "pass": passed}


def prompt_tokens(request: ModelRequest) -> int:
    """The scripted model's input-token count of one recorded request."""
    size = sum(
        count_tokens(m.content) + sum(count_tokens(c.arguments) + 4 for c in m.tool_calls) + 4
        for m in request.messages
    )
    return size + sum(count_tokens(json.dumps(t.parameters)) for t in request.tools)
