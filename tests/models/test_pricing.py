"""The price table: lookups by ``provider:model``, and the cost a real answer reports."""

from __future__ import annotations

import pytest
from wire_server import Reply, WireServer, openai_completion

from podium.messages import Message
from podium.models import get_price
from podium.models._base import ModelRequest
from podium.models._openai import OpenAIModel

KEY = "sk-test-openai-0123456789abcdef"


@pytest.mark.parametrize(
    ("model", "base"),
    [
        ("openai:gpt-4o-mini-2024-07-18", "openai:gpt-4o-mini"),
        ("openai:gpt-4o-2024-08-06", "openai:gpt-4o"),
        ("anthropic:claude-haiku-4-5-20251001", "anthropic:claude-haiku-4-5"),
        ("anthropic:claude-3-5-haiku-latest", "anthropic:claude-3-5-haiku"),
        ("anthropic:claude-sonnet-4-0", "anthropic:claude-sonnet-4"),
    ],
)
def test_dated_snapshots_and_aliases_cost_what_their_base_model_costs(
    model: str, base: str
) -> None:
    assert get_price(model) == get_price(base) is not None


@pytest.mark.parametrize(
    "model",
    # each costs several times its namesake without the suffix (gpt-5-pro: 12x gpt-5)
    ["openai:gpt-5-pro", "openai:o3-pro", "openai:o3-deep-research", "openai:gpt-4o-mini-tts"],
)
def test_a_different_model_is_not_priced_as_its_namesake(model: str) -> None:
    # unknown, so a dollar budget asks for a price instead of under-counting
    assert get_price(model) is None


async def test_a_pro_model_is_not_charged_at_the_base_price() -> None:
    with WireServer() as server:
        server.reply(Reply(body=openai_completion("ok", prompt_tokens=1_000_000)))
        async with OpenAIModel(
            model="gpt-5-pro", api_key=KEY, base_url=server.openai_base_url
        ) as model:
            response = await model.request(ModelRequest(messages=(Message.user("hi"),)))
    # not gpt-5's $1.25: the price is unknown, so no made-up cost either
    assert response.usage.input_tokens == 1_000_000
    assert response.usage.cost_usd == 0.0
