"""Budgets that are never exceeded: reservations made before every model call.

Before a call, the engine bounds the request's input tokens from above (UTF-8
bytes bound byte-level BPE token counts; podium adds a margin per message and
per tool) and clamps the call's ``max_tokens`` so the worst case fits what is
left. The worst case is *reserved* before the call is dispatched, so parallel
calls cannot overshoot together; the actual usage replaces the reservation when
the answer arrives. A child ledger (an agent's or sub-team's own share) checks
its own cap and every ancestor's; whatever a child does not spend stays with
its parent.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from podium.errors import ConfigError
from podium.guards._limits import check_count
from podium.models._base import ModelRequest, Usage
from podium.models._pricing import Price

__all__ = ["Budget", "BudgetExhausted", "BudgetLedger", "Reservation", "input_token_bound"]

_PER_MESSAGE = 16  # role markers and separators a chat template adds
_PER_TOOL = 64
_BASE = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class Budget:
    """Caps for a run, an agent or a sub-team (None: no cap).

    Args:
        usd: dollars; a hard cap (needs a known price for every model).
        tokens: input + output tokens; a hard cap.
        model_calls: model calls.
        seconds: wall-clock seconds; in-flight calls are cancelled at the deadline.
        min_output_tokens: a call that could not produce at least this many
            output tokens within the remaining budget is not made.
    """

    usd: float | None = None
    tokens: int | None = None
    model_calls: int | None = None
    seconds: float | None = None
    min_output_tokens: int = 16

    def __post_init__(self) -> None:
        for name in ("usd", "tokens", "model_calls", "seconds"):
            value = getattr(self, name)
            if value is None:
                continue
            # NaN compares False with everything and inf never runs out: both would
            # silently lift the cap, so they are refused like a negative number
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"budget {name} must be a number or None, not {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ConfigError(
                    f"budget {name} must be a finite number of at least 0 (None for no "
                    f"cap), not {value}"
                )
        check_count("budget min_output_tokens", self.min_output_tokens, least=1)

    @property
    def empty(self) -> bool:
        """True when nothing is capped."""
        return all(getattr(self, n) is None for n in ("usd", "tokens", "model_calls", "seconds"))


class BudgetExhausted(Exception):  # a guard signal; the engine turns it into a stop
    """Not even a minimal call fits the remaining budget."""

    def __init__(self, detail: str, ledger: str) -> None:
        self.detail = detail
        self.ledger = ledger
        super().__init__(detail)


def input_token_bound(request: ModelRequest) -> int:
    """An upper bound on the input tokens of `request` for byte-level BPE models."""
    total = _BASE
    for m in request.messages:
        total += len(m.content.encode()) + _PER_MESSAGE
        for c in m.tool_calls:
            total += len(c.arguments.encode()) + len(c.name) + len(c.id) + _PER_MESSAGE
        if m.tool_call_id:
            total += len(m.tool_call_id)
    for t in request.tools:
        total += (
            len(json.dumps(t.parameters).encode())
            + len(t.name)
            + len(t.description.encode())
            + _PER_TOOL
        )
    if request.output_schema is not None:
        total += len(json.dumps(request.output_schema).encode())
    return total


@dataclass(slots=True, kw_only=True)
class Reservation:
    """The worst case of one call, held until its usage is known."""

    usd: float
    tokens: int
    max_tokens: int
    ledgers: tuple[BudgetLedger, ...]


@dataclass(slots=True, kw_only=True)
class BudgetLedger:
    """Spend and reservations against one `Budget`, chained to a parent's."""

    budget: Budget
    name: str = "run"
    parent: BudgetLedger | None = None
    owner: int = 0
    spent_usd: float = 0.0
    spent_tokens: int = 0
    calls: int = 0
    reserved_usd: float = 0.0
    reserved_tokens: int = 0
    reserved_calls: int = 0
    _chain: tuple[BudgetLedger, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        chain: list[BudgetLedger] = []
        node: BudgetLedger | None = self
        while node is not None:
            chain.append(node)
            node = node.parent
        self._chain = tuple(chain)

    def child(self, budget: Budget, name: str, *, owner: int = 0) -> BudgetLedger:
        """A ledger for an agent's or sub-team's own share, within this one."""
        return BudgetLedger(budget=budget, name=name, parent=self, owner=owner)

    def _headroom(self) -> tuple[float, float, float, str]:
        usd = tokens = calls = math.inf
        tightest = self.name
        for led in self._chain:
            b = led.budget
            if b.usd is not None:
                left = b.usd - led.spent_usd - led.reserved_usd
                if left < usd:
                    usd, tightest = left, led.name
            if b.tokens is not None:
                tokens = min(tokens, b.tokens - led.spent_tokens - led.reserved_tokens)
            if b.model_calls is not None:
                calls = min(calls, b.model_calls - led.calls - led.reserved_calls)
        return usd, tokens, calls, tightest

    def usd_capped(self) -> bool:
        """True if this ledger or an ancestor caps dollars."""
        return any(led.budget.usd is not None for led in self._chain)

    def reserve(self, request: ModelRequest, price: Price | None, model: str) -> Reservation:
        """Reserve the worst case of `request`; returns the clamped ``max_tokens``.

        Raises:
            ConfigError: a dollar cap applies and `model` has no known price.
            BudgetExhausted: not even ``min_output_tokens`` fit.
        """
        usd_left, tokens_left, calls_left, who = self._headroom()
        if calls_left < 1:
            raise BudgetExhausted("the model-call budget is used up", who)
        in_bound = input_token_bound(request)
        max_out = request.max_tokens
        minimum = min(self.budget.min_output_tokens, request.max_tokens)
        # floor, not int(): a headroom of -0.5 tokens is no room, not 0 tokens of room
        if tokens_left != math.inf:
            max_out = min(max_out, math.floor(tokens_left - in_bound))
        in_cost = 0.0
        if usd_left != math.inf:
            if price is None:
                raise ConfigError(
                    f"model {model} has no known price, so a dollar budget cannot be "
                    "guaranteed; set one (podium.models.set_price or the spec's prices:)"
                )
            in_cost = in_bound * price.input / 1e6
            if price.output > 0:
                max_out = min(max_out, math.floor((usd_left - in_cost) * 1e6 / price.output))
            elif in_cost > usd_left:
                max_out = -1
        if max_out < minimum:
            raise BudgetExhausted(
                f"the next call needs up to {in_bound} input tokens plus {minimum} output "
                f"tokens, more than the budget has left",
                who,
            )
        usd = in_cost + (max_out * price.output / 1e6 if price is not None else 0.0)
        reservation = Reservation(
            usd=usd, tokens=in_bound + max_out, max_tokens=max_out, ledgers=self._chain
        )
        for led in self._chain:
            led.reserved_usd += reservation.usd
            led.reserved_tokens += reservation.tokens
            led.reserved_calls += 1
        return reservation

    @staticmethod
    def settle(reservation: Reservation, usage: Usage | None) -> None:
        """Replace a reservation with the actual usage (None: the call failed)."""
        for led in reservation.ledgers:
            led.reserved_usd -= reservation.usd
            led.reserved_tokens -= reservation.tokens
            led.reserved_calls -= 1
            if usage is not None:
                led.spent_usd += usage.cost_usd
                led.spent_tokens += usage.input_tokens + usage.output_tokens
                led.calls += 1

    def count(self, usage: Usage) -> None:
        """Count a call made earlier (a resumed run replays it from its log)."""
        for led in self._chain:
            led.spent_usd += usage.cost_usd
            led.spent_tokens += usage.input_tokens + usage.output_tokens
            led.calls += 1
