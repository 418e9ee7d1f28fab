"""W3: prompt tokens of a 5-stage pipeline with declared reads vs the full transcript."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from podium import Agent, MemoryStore, ModelRequest, Pipeline
from podium.testing import count_tokens

from ._common import TimedModel, prompt_tokens, prose, row

STAGES = 5
STAGE_TOKENS = 400
TARGET_RATIO = 0.50
#: the declared variant: each stage builds on the stage just before it
DECLARED = {k: [f"s{k - 1}"] for k in range(2, STAGES + 1)}
#: the full-transcript variant: each stage reads every earlier stage's output
FULL = {k: [f"s{j}" for j in range(1, k)] for k in range(2, STAGES + 1)}


def fact(k: int) -> str:
    return f"FACT-{k}: the stage {k} measurement is {1000 + 37 * k} units"


def stage_text(k: int) -> str:
    """About STAGE_TOKENS tokens of prose that start with stage k's unique fact."""
    return f"{fact(k)}. {prose(STAGE_TOKENS, f'stage-{k}')}"[: STAGE_TOKENS * 4]


def _stage_model(k: int) -> TimedModel:
    text = stage_text(k)

    def answer(request: ModelRequest) -> str:
        return text

    return TimedModel(fn=answer)


def _prompt(model: TimedModel) -> str:
    return "\n".join(m.content for r in model.requests for m in r.messages)


async def variant(reads: dict[int, Sequence[str]]) -> dict[str, Any]:
    models = {k: _stage_model(k) for k in range(1, STAGES + 1)}
    agents = [
        Agent(f"s{k}", role=f"stage {k}", model=models[k], writes=[f"s{k}"], reads=reads.get(k, ()))
        for k in range(1, STAGES + 1)
    ]
    result = await Pipeline(agents, name="five").run("Study tide pools.", store=MemoryStore())
    assert result.stop_reason.value == "completed", result.error
    per_stage = [sum(prompt_tokens(r) for r in models[k].requests) for k in range(1, STAGES + 1)]
    wanted = [(k, int(key[1:])) for k, keys in reads.items() for key in keys]
    found = [(k, j) for k, j in wanted if fact(j) in _prompt(models[k])]
    leaked = [
        (k, j)
        for k in range(1, STAGES + 1)
        for j in range(1, STAGES + 1)
        if j != k and f"FACT-{j}:" in _prompt(models[k]) and (k, j) not in wanted
    ]
    return {
        "prompt_tokens": result.usage.total.input_tokens,
        "prompt_tokens_per_stage": per_stage,
        "stage_output_tokens": [count_tokens(stage_text(k)) for k in range(1, STAGES + 1)],
        "declared_reads": len(wanted),
        "needles_retained": len(found),
        "retention": len(found) / len(wanted) if wanted else 1.0,
        "undeclared_facts_leaked": len(leaked),
        "prompts_recorded": sum(len(m.requests) for m in models.values()),
    }


async def _both() -> dict[str, Any]:
    return {"declared": await variant(DECLARED), "full": await variant(FULL)}


def run(quick: bool = False) -> dict[str, Any]:
    data = asyncio.run(_both())
    declared, full = data["declared"], data["full"]
    ratio = declared["prompt_tokens"] / full["prompt_tokens"]
    data["ratio"] = ratio
    retained = declared["retention"] == 1.0
    rows = [
        row("prompt tokens, declared reads", declared["prompt_tokens"], "tok"),
        row("prompt tokens, full transcript", full["prompt_tokens"], "tok"),
        row("declared / full", ratio * 100, "%", f"≤ {TARGET_RATIO:.0%}", ratio <= TARGET_RATIO),
        row("needle retention (declared)", declared["retention"] * 100, "%", "100%", retained),
        row("needle retention (full)", full["retention"] * 100, "%"),
        row(
            "undeclared facts leaked",
            declared["undeclared_facts_leaked"],
            "",
            "0",
            declared["undeclared_facts_leaked"] == 0,
        ),
    ]
    return {"rows": rows, "data": data}
