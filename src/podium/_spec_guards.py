"""The spec's guards: budgets, limits, loop detectors, run-level checks and tool approval.

Private to `podium.spec`. Each model mirrors a `podium.guards` record and turns
into it (`to_budget`, `to_limits`, ...); keys left out keep the record's own
defaults, so a spec never restates them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from podium._spec_check import (
    AtLeastOne,
    BlackboardKey,
    CallablePath,
    Locator,
    SpecModel,
    ToolPath,
    use_short_form,
)
from podium._yaml import YamlPath, dotted
from podium.errors import SpecError
from podium.guards._budget import Budget
from podium.guards._limits import Limits, LoopPolicy
from podium.guards._verify import (
    Check,
    CommandVerifier,
    FileExistsVerifier,
    JsonSchemaVerifier,
    PredicateVerifier,
)
from podium.tools._tool import Tool

__all__ = [
    "CHECK_KINDS",
    "BudgetSpec",
    "CheckSpec",
    "LimitsSpec",
    "LoopsSpec",
    "RunGuards",
    "ToolRef",
    "check_schemas",
    "root_budget_error",
    "with_approval",
]

NonNegative = Annotated[float, Field(ge=0, strict=True, allow_inf_nan=False)]
NonNegativeInt = Annotated[int, Field(ge=0, strict=True)]
Positive = Annotated[float, Field(gt=0, strict=True, allow_inf_nan=False)]
Text = Annotated[str, Field(min_length=1)]

#: The kinds of run-level check; a ``verify:`` item has exactly one.
CHECK_KINDS = ("json_schema", "predicate", "command", "file_exists")


class BudgetSpec(SpecModel):
    """``budget:`` of the run, a team or an agent: the caps of a `podium.Budget`."""

    usd: NonNegative | None = None
    tokens: NonNegativeInt | None = None
    model_calls: NonNegativeInt | None = None
    seconds: Positive | None = None
    min_output_tokens: AtLeastOne = 16

    def to_budget(self) -> Budget:
        """The `Budget`."""
        return Budget(**self.model_dump())


class LimitsSpec(SpecModel):
    """``limits:``: turn, depth, fan-out and re-plan limits (`podium.Limits`)."""

    max_turns: AtLeastOne | None = None
    max_depth: NonNegativeInt = 4
    max_fanout: AtLeastOne = 20
    max_replans: NonNegativeInt = 1

    def to_limits(self) -> Limits:
        """The `Limits`."""
        return Limits(**self.model_dump())


class LoopsSpec(SpecModel):
    """``loops:``: loop-detector thresholds (`podium.LoopPolicy`); 0 turns one detector off."""

    enabled: bool = True
    repeated_tool_calls: NonNegativeInt = 3
    handoff_cycles: NonNegativeInt = 2
    stale_chat_rounds: NonNegativeInt = 3
    similarity: Annotated[float, Field(gt=0, le=1, strict=True)] = 0.85
    replan_repeats: AtLeastOne = 1

    def to_policy(self) -> LoopPolicy:
        """The `LoopPolicy`."""
        return LoopPolicy(**self.model_dump())


class CheckSpec(SpecModel):
    """A ``verify:`` item: one verifier applied to the final output or a blackboard entry.

    Exactly one of ``json_schema`` (a JSON schema), ``predicate`` (an import
    path of a function taking the value), ``command`` (a shell command given
    the value on its standard input; ``timeout`` in seconds) or ``file_exists``
    (a path) is given.
    """

    target: BlackboardKey = "final"
    required: bool = True
    json_schema: dict[str, Any] | None = None
    predicate: CallablePath | None = None
    command: Text | None = None
    file_exists: Text | None = None
    timeout: Positive | None = None

    @property
    def kinds(self) -> list[str]:
        """The verifier kinds given (exactly one in a valid spec)."""
        return [k for k in CHECK_KINDS if getattr(self, k) is not None]

    def to_check(self, predicate: Any = None) -> Check:
        """The `Check`; `predicate` is the imported function for a predicate check."""
        if self.json_schema is not None:
            verifier: Any = JsonSchemaVerifier(self.json_schema)
        elif self.command is not None:
            verifier = CommandVerifier(self.command, timeout=self.timeout or 120.0)
        elif self.file_exists is not None:
            verifier = FileExistsVerifier(self.file_exists)
        else:
            verifier = PredicateVerifier(predicate, name=str(self.predicate))
        return Check(verifier, target=self.target, required=self.required)


class ToolRef(SpecModel):
    """An agent's tool: ``"module:attr"``, or a mapping that also asks for approval.

    ``{use: "module:attr", approval: true, approval_timeout: 60, approval_default: deny}``
    makes every call wait for a human decision (see `podium.tool`); a spec can
    add approval to a tool, never remove the approval its code requires.
    """

    use: ToolPath
    approval: bool | None = None
    approval_timeout: Positive | None = None
    approval_default: Literal["deny", "approve"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        return use_short_form(
            data,
            (
                "a tool is an import path 'package.module:function' or a mapping "
                "{use: 'package.module:function', approval: true}"
            ),
        )


class RunGuards(SpecModel):
    """The spec's top-level guard keys (`podium.spec.TeamSpec` extends this)."""

    budget_spec: BudgetSpec | None = Field(default=None, alias="budget")
    limits_spec: LimitsSpec | None = Field(default=None, alias="limits")
    loops_spec: LoopsSpec | None = Field(default=None, alias="loops")
    verify: list[CheckSpec] = Field(default_factory=list)

    @property
    def budget(self) -> Budget | None:
        """The run's budget (``budget:``), or None when the spec sets none."""
        return self.budget_spec.to_budget() if self.budget_spec is not None else None

    @property
    def limits(self) -> Limits | None:
        """The run's limits (``limits:``), or None for the defaults."""
        return self.limits_spec.to_limits() if self.limits_spec is not None else None

    @property
    def loops(self) -> LoopPolicy | None:
        """The run's loop detectors (``loops:``), or None for the defaults."""
        return self.loops_spec.to_policy() if self.loops_spec is not None else None


def with_approval(tool: Tool, ref: ToolRef, at: YamlPath, where: Locator) -> Tool:
    """`tool` with the approval `ref` asks for; SpecError if it would weaken the tool's own."""
    if ref.approval is False and tool.needs_approval:
        path = where.written((*at, "approval"))
        raise where.error(
            f"{dotted(path)}: tool {tool.name!r} requires approval in its code; "
            "a spec cannot turn that off",
            path,
        )
    needs = tool.needs_approval or bool(ref.approval)
    options = {"approval_timeout": ref.approval_timeout, "approval_default": ref.approval_default}
    given = {k: v for k, v in options.items() if v is not None}
    if given and not needs:
        path = where.written((*at, next(iter(given))))
        raise where.error(
            f"{dotted(path)}: tool {tool.name!r} does not need approval; add `approval: true`",
            path,
        )
    if not needs or (tool.needs_approval and not given):
        return tool
    return replace(
        tool,
        needs_approval=True,
        approval_timeout=ref.approval_timeout or tool.approval_timeout,
        approval_default=ref.approval_default or tool.approval_default,
    )


def check_verify(checks: Sequence[CheckSpec], where: Locator) -> None:
    """Each ``verify:`` item has exactly one kind; SpecError at the first extra one."""
    for i, spec in enumerate(checks):
        at: YamlPath = ("verify", i)
        kinds = spec.kinds
        if len(kinds) > 1:
            path = where.written((*at, kinds[1]))
            raise where.error(
                f"{dotted(path)}: a check has one kind, but this one also has "
                f"{kinds[0]!r}; make them two checks",
                path,
                at_key=True,
            )
        if not kinds:
            raise where.error(f"{dotted(at)}: a check needs one of {', '.join(CHECK_KINDS)}", at)
        if spec.timeout is not None and spec.command is None:
            path = where.written((*at, "timeout"))
            raise where.error(
                f"{dotted(path)}: timeout applies only to a command check", path, at_key=True
            )


def check_schemas(checks: Sequence[CheckSpec], where: Locator) -> None:
    """Check each ``verify[i].json_schema`` is a valid JSON schema, at its position."""
    for i, spec in enumerate(checks):
        if spec.json_schema is None:
            continue
        path: YamlPath = ("verify", i, "json_schema")
        try:
            import jsonschema
        except ImportError:  # pragma: no cover - depends on the install
            raise where.error(
                f"{dotted(path)}: JSON-schema checks need `pip install 'podium[verify]'`", path
            ) from None
        try:
            jsonschema.Draft202012Validator.check_schema(spec.json_schema)
        except jsonschema.SchemaError as exc:
            inner = "/".join(str(p) for p in exc.path)
            at = f" at {inner}" if inner else ""
            raise where.error(
                f"{dotted(path)}: not a valid JSON schema{at}: {exc.message}", path
            ) from None


def root_budget_error(where: Locator) -> SpecError:
    """The root team's own ``budget:`` is refused: the run's budget is the top-level one."""
    path: YamlPath = ("team", "budget")
    return where.error(
        "team.budget: the root team's budget is the run's budget; "
        "write it as the top-level `budget:` key",
        path,
        at_key=True,
    )
