"""Guards: budgets, limits, loop detectors and verification, checked before every call."""

from podium.guards._budget import Budget, BudgetLedger, input_token_bound
from podium.guards._limits import Limits, LoopPolicy

__all__ = ["Budget", "BudgetLedger", "Limits", "LoopPolicy", "input_token_bound"]
