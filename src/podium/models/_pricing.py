"""Prices per model, from a data file the user can override."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from podium.errors import ConfigError
from podium.models._base import Usage

__all__ = ["Price", "cost_of", "get_price", "load_prices", "price_of", "set_price"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Price:
    """USD per million input and output tokens."""

    input: float
    output: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """Cost in USD of a call with these token counts."""
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


_prices: dict[str, Price] | None = None
# A dated snapshot (gpt-4o-2024-08-06, claude-haiku-4-5-20251001, gpt-4-0613) or a
# ``-latest`` alias costs what its base model does; any other suffix names another model,
# often a dearer one (gpt-5-pro is 12x gpt-5), so it gets no price rather than a wrong one.
_SNAPSHOT = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|latest)$")


def _parse(data: object, source: str) -> dict[str, Price]:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: prices must be a mapping of 'provider:model' to prices")
    out: dict[str, Price] = {}
    for key, value in data.items():
        if key.startswith("_"):
            continue
        if (
            not isinstance(value, dict)
            or not isinstance(value.get("input"), int | float)
            or not isinstance(value.get("output"), int | float)
        ):
            raise ConfigError(
                f"{source}: price for {key!r} must be {{input: <USD/M>, output: <USD/M>}}"
            )
        out[key] = Price(input=float(value["input"]), output=float(value["output"]))
    return out


def load_prices() -> dict[str, Price]:
    """The built-in table, then the file named by ``PODIUM_PRICES`` on top."""
    text = resources.files("podium.models").joinpath("prices.json").read_text("utf-8")
    prices = _parse(json.loads(text), "podium/models/prices.json")
    extra = os.environ.get("PODIUM_PRICES")
    if extra:
        path = Path(extra)
        try:
            prices.update(_parse(json.loads(path.read_text("utf-8")), str(path)))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"PODIUM_PRICES={extra}: cannot read prices: {exc}") from exc
    return prices


def _table() -> dict[str, Price]:
    global _prices
    if _prices is None:
        _prices = load_prices()
    return _prices


def set_price(model: str, *, input: float, output: float) -> None:
    """Set or override the price of ``provider:model`` (USD per million tokens)."""
    _table()[model] = Price(input=input, output=output)


def get_price(model: str) -> Price | None:
    """The price of ``provider:model``; dated snapshots match their base name."""
    table = _table()
    price = table.get(model)
    if price is None:
        price = table.get(_SNAPSHOT.sub("", model))
    return price


def cost_of(model: str, input_tokens: int, output_tokens: int) -> Usage:
    """A `Usage` with the cost of a call filled in (0 when the price is unknown)."""
    price = get_price(model)
    cost = price.cost(input_tokens, output_tokens) if price is not None else 0.0
    return Usage(input_tokens=input_tokens, output_tokens=output_tokens, cost_usd=cost)


def price_of(model: object) -> Price | None:
    """The price that bounds what a call to `model` can cost.

    Follows wrappers (``.model``); for a fallback chain (``.models``) it is the
    most expensive model's price per direction; a model's own ``price``
    attribute wins over the table.
    """
    own = getattr(model, "price", None)
    if isinstance(own, Price):
        return own
    chain = getattr(model, "models", None)
    if isinstance(chain, tuple) and chain:
        prices = [price_of(m) for m in chain]
        if any(p is None for p in prices):
            return None
        known = [p for p in prices if p is not None]
        return Price(input=max(p.input for p in known), output=max(p.output for p in known))
    inner = getattr(model, "model", None)
    if inner is not None and not isinstance(inner, str):
        return price_of(inner)
    name = getattr(model, "name", None)
    return get_price(name) if isinstance(name, str) else None
