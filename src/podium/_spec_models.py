"""The spec's sections other than teams: defaults, inputs, agents and prices.

Private to `podium.spec`, which re-exports these models.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from podium._spec_check import (
    AgentName,
    AtLeastOne,
    BlackboardKey,
    ModelPath,
    SpecModel,
    check_model_name,
)
from podium._spec_guards import BudgetSpec, ToolRef

__all__ = ["AgentSpec", "Defaults", "InputSpec", "PriceSpec", "normalized"]

Temperature = Annotated[float, Field(ge=0, le=2, strict=True)]


def _check_choice(value: str | list[str]) -> str | list[str]:
    if isinstance(value, str):
        return check_model_name(value)
    if not value:
        raise ValueError("give at least one model")
    for index, name in enumerate(value):
        try:
            check_model_name(name)
        except ValueError as exc:
            raise ValueError(f"item {index}: {exc}") from None
    return value


#: one model, or a fallback chain tried in order (``[openai:gpt-4o, anthropic:...]``)
ModelChoice = Annotated[str | list[str], AfterValidator(_check_choice)]


class Defaults(SpecModel):
    """Settings applied to every agent that does not set its own."""

    model: ModelChoice | None = None
    max_tokens: AtLeastOne | None = None
    max_turns: AtLeastOne | None = None
    temperature: Temperature | None = None


class InputSpec(SpecModel):
    """A declared run input; required unless it has a default or ``required: false``."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    description: str = ""
    required: bool | None = None
    default: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> InputSpec:
        if self.required and self.default is not None:
            raise ValueError("an input with a default is not required; drop one of the two")
        return self

    @property
    def is_required(self) -> bool:
        """Whether a run must give this input."""
        return self.required if self.required is not None else self.default is None


class AgentSpec(Defaults):
    """One agent: role card, instructions, model, tools, limits, memory and handoffs.

    ``output_type`` and ``handoff_input`` are import paths of pydantic models;
    ``handoffs`` names other agents (of the same handoffs team); ``budget`` is
    the agent's own share of the run's budget.
    """

    role: str = ""
    instructions: str = ""
    tools: list[ToolRef] = Field(default_factory=list)
    output_type: ModelPath | None = None
    reads: list[BlackboardKey] = Field(default_factory=list)
    writes: list[BlackboardKey] = Field(default_factory=list)
    reads_verified_only: bool = False
    handoffs: list[AgentName] = Field(default_factory=list)
    handoff_input: ModelPath | None = None
    budget: BudgetSpec | None = None


class PriceSpec(SpecModel):
    """USD per million input and output tokens."""

    input: Annotated[float, Field(ge=0, strict=True)]
    output: Annotated[float, Field(ge=0, strict=True)]


_OPTIONAL = frozenset(
    {"description", "defaults", "inputs", "prices", "teams", "budget", "limits", "loops", "verify"}
)


def normalized(data: Any) -> Any:
    """Drop ``x-`` keys (anchors to reuse); read ``inputs:`` or ``lead:`` left empty as {}."""
    if not isinstance(data, dict):
        return data
    data = {
        k: v
        for k, v in data.items()
        if not (isinstance(k, str) and k.startswith("x-")) and (v is not None or k not in _OPTIONAL)
    }
    for section in ("agents", "inputs"):
        if isinstance(data.get(section), dict):
            data[section] = {k: {} if v is None else v for k, v in data[section].items()}
    return data
