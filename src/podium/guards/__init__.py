"""Guards: budgets, limits, loop detectors and verification, checked before every call."""

from podium.guards._budget import Budget, BudgetLedger, input_token_bound
from podium.guards._limits import Limits, LoopPolicy
from podium.guards._verify import (
    Check,
    CommandVerifier,
    FileExistsVerifier,
    JsonSchemaVerifier,
    PredicateVerifier,
    Verdict,
    Verifier,
    failing_evidence,
)

__all__ = [
    "Budget",
    "BudgetLedger",
    "Check",
    "CommandVerifier",
    "FileExistsVerifier",
    "JsonSchemaVerifier",
    "Limits",
    "LoopPolicy",
    "PredicateVerifier",
    "Verdict",
    "Verifier",
    "failing_evidence",
    "input_token_bound",
]
