"""W4: prompt tokens per round of a 3-agent, 12-round group chat, windowed vs unbounded."""

from __future__ import annotations

import asyncio
from typing import Any

from podium import Agent, GroupChat, MemoryStore, ModelRequest
from podium.testing import agent_of

from ._common import TimedModel, prompt_tokens, prose, row

AGENTS = 3
ROUNDS = 12
MESSAGE_TOKENS = 200
TARGET_RATIO = 0.40
#: other windows, measured for information (the target applies to the default)
SWEEP = (1, 2, 3, 4)
_DEFAULT = object()


def _chat_model() -> TimedModel:
    said = {"n": 0}

    def answer(request: ModelRequest) -> str:
        said["n"] += 1  # a new message every round, so the stale-chat detector stays quiet
        return prose(MESSAGE_TOKENS, f"{agent_of(request)}-{said['n']}")

    return TimedModel(fn=answer)


async def chat(window: Any = _DEFAULT) -> dict[str, Any]:
    """One chat with loop detection on (the default policy)."""
    model = _chat_model()
    agents = [Agent(f"a{i}", role=f"expert {i}", model=model) for i in range(1, AGENTS + 1)]
    kwargs = {} if window is _DEFAULT else {"window": window}
    team = GroupChat(agents, max_rounds=ROUNDS, **kwargs)
    result = await team.run("Plan a tide-pool survey.", store=MemoryStore())
    assert result.stop_reason.value == "completed", result.error
    assert len(model.requests) == ROUNDS, len(model.requests)
    return {
        "window": team.window,
        "rounds": len(model.requests),
        "prompt_tokens": result.usage.total.input_tokens,
        "prompt_tokens_per_round": [prompt_tokens(r) for r in model.requests],
        "prompts_recorded": len(model.requests),
    }


async def _all() -> dict[str, Any]:
    data = {"windowed": await chat(), "unbounded": await chat(None)}
    data["sweep"] = {str(w): (await chat(w))["prompt_tokens"] for w in SWEEP}
    return data


def run(quick: bool = False) -> dict[str, Any]:
    data = asyncio.run(_all())
    windowed, unbounded = data["windowed"], data["unbounded"]
    ratio = windowed["prompt_tokens"] / unbounded["prompt_tokens"]
    data["ratio"] = ratio
    window = windowed["window"]
    rows = [
        row(f"prompt tokens, window={window} (default)", windowed["prompt_tokens"], "tok"),
        row("prompt tokens, unbounded", unbounded["prompt_tokens"], "tok"),
        row(
            f"window={window} / unbounded",
            ratio * 100,
            "%",
            f"≤ {TARGET_RATIO:.0%}",
            ratio <= TARGET_RATIO,
        ),
        row("last-round prompt, windowed", windowed["prompt_tokens_per_round"][-1], "tok"),
        row("last-round prompt, unbounded", unbounded["prompt_tokens_per_round"][-1], "tok"),
    ]
    for w, tokens in data["sweep"].items():
        rows.append(
            row(f"  (info) window={w} / unbounded", tokens / unbounded["prompt_tokens"] * 100, "%")
        )
    return {"rows": rows, "data": data}
