"""Control-flow signals: not failures, so kept apart from the error tree."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from podium.result import StopReason

__all__ = ["GuardStop", "HandoffRequested", "Transfer", "mark_recorded"]


class GuardStop(Exception):
    """Raised inside the engine to stop a run with a typed, non-error reason."""

    def __init__(
        self,
        reason: StopReason,
        detail: str,
        *,
        path: str,
        agent: str,
        data: dict[str, Any] | None = None,
    ) -> None:
        self.reason = reason
        self.detail = detail
        self.path = path
        self.agent = agent
        self.data = data or {}
        super().__init__(f"{reason}: {detail} (agent {agent}, step {path})")


def mark_recorded(exc: BaseException) -> bool:
    """Mark `exc` as logged in the run log; returns True if it already was."""
    if getattr(exc, "_podium_recorded", False):
        return True
    with contextlib.suppress(AttributeError):
        exc._podium_recorded = True  # type: ignore[attr-defined]
    return False


@dataclass(frozen=True, slots=True, kw_only=True)
class Transfer:
    """An agent's request to hand control to another agent."""

    sender: str
    target: str
    reason: str
    payload: Any = None
    step: str = ""


class HandoffRequested(Exception):  # a signal, not an error
    """Raised by a handoff tool; the agent loop turns it into a `Transfer` output."""

    def __init__(self, transfer: Transfer) -> None:
        self.transfer = transfer
        super().__init__(f"{transfer.sender} hands off to {transfer.target}")
