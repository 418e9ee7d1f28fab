"""Eval files: which task set, which team specs, how to check and bound the runs.

An eval file is YAML; paths in it are relative to its folder::

    tasks: tasks.jsonl                  # the task set (JSONL, see podium.eval.load_tasks)
    baseline: {name: single, spec: single.yaml}
    variants:                           # compared against the baseline
      - {name: team, spec: team.yaml}
    checker: contains                   # the default checker (a task's "check" wins)
    concurrency: 4                      # runs in flight at once
    repeat: 1                           # runs per task and variant
    budget: {usd: 0.05, tokens: 20000, calls: 20, seconds: 60}   # per run, optional
    model: openai:gpt-4o-mini           # optional: every agent of every variant

Every problem raises a `SpecError` at ``file:line:column`` of the eval file, at
``file:line`` of the task file, or inside the team spec it concerns.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationError

from podium._spec_check import (
    AgentName,
    AtLeastOne,
    Locator,
    ModelName,
    SpecModel,
    validation_error,
)
from podium._yaml import Document, YamlPath, read_text
from podium.errors import ConfigError, SpecError
from podium.eval._checks import Checker, check_ref, checker_from
from podium.eval._tasks import EvalTask, load_tasks
from podium.guards import Budget
from podium.spec import TeamSpec, load_spec

__all__ = ["EvalConfig", "EvalSuite", "Variant", "load_eval", "parse_eval"]

CheckerRef = Annotated[Any, AfterValidator(check_ref)]


class BudgetConfig(SpecModel):
    """Caps for each run (not for the whole eval)."""

    usd: Annotated[float, Field(ge=0, strict=True)] | None = None
    tokens: AtLeastOne | None = None
    calls: AtLeastOne | None = None
    seconds: Annotated[float, Field(gt=0, strict=True)] | None = None

    def budget(self) -> Budget:
        """The run `Budget` these caps describe."""
        return Budget(
            usd=self.usd, tokens=self.tokens, model_calls=self.calls, seconds=self.seconds
        )


class VariantConfig(SpecModel):
    """A named team spec to evaluate."""

    name: AgentName
    spec: Annotated[str, Field(min_length=1)]


class EvalConfig(SpecModel):
    """The validated contents of an eval file."""

    tasks: Annotated[str, Field(min_length=1)]
    baseline: VariantConfig
    variants: list[VariantConfig] = Field(default_factory=list)
    checker: CheckerRef = "contains"
    concurrency: AtLeastOne = 4
    repeat: AtLeastOne = 1
    budget: BudgetConfig | None = None
    model: ModelName | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Variant:
    """A team to evaluate: its name in reports, its spec and where that came from."""

    name: str
    spec: TeamSpec
    spec_path: Path | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EvalSuite:
    """Everything `run_eval` needs; `variants[0]` is the baseline.

    Attributes:
        tasks: the task set.
        variants: the baseline first, then the variants compared with it.
        checker: the default checker (a task's own ``check`` wins).
        concurrency: runs in flight at once.
        repeat: runs per task and variant.
        budget: caps for each run, or None.
        model: ``provider:name`` for every agent instead of the specs' own.
        path: the eval file, when loaded from one.
        tasks_path: the task file, when loaded from one.
    """

    tasks: tuple[EvalTask, ...]
    variants: tuple[Variant, ...]
    checker: Checker
    concurrency: int = 4
    repeat: int = 1
    budget: Budget | None = None
    model: str | None = None
    path: Path | None = None
    tasks_path: Path | None = None

    def __post_init__(self) -> None:
        if not self.variants:
            raise ConfigError("an eval needs at least a baseline variant")
        if not self.tasks:
            raise ConfigError("an eval needs at least one task")
        twice = [n for n, count in Counter(v.name for v in self.variants).items() if count > 1]
        if twice:  # rows are summed by name: both variants would count both's runs
            raise ConfigError(f"two variants are named {twice[0]!r}; give each its own name")
        if self.concurrency < 1 or self.repeat < 1:
            raise ConfigError("concurrency and repeat must be at least 1")

    @property
    def baseline(self) -> Variant:
        """The variant the others are compared with."""
        return self.variants[0]


_SHAPES: dict[YamlPath, type[SpecModel]] = {
    (): EvalConfig,
    ("baseline",): VariantConfig,
    ("variants", "*"): VariantConfig,
    ("budget",): BudgetConfig,
}


def _keys_at(path: YamlPath) -> list[str]:
    shape = tuple("*" if isinstance(p, int) else p for p in path)
    model = _SHAPES.get(shape)
    return list(model.model_fields) if model else []


def _renamed(exc: SpecError) -> SpecError:
    """The YAML helpers say "the spec"; here it is the eval file."""
    return SpecError(
        exc.message.replace("the spec", "the eval file"),
        file=exc.file,
        line=exc.line,
        column=exc.column,
        key=exc.key,
    )


def _variants(config: EvalConfig, base: Path, where: Locator) -> tuple[Variant, ...]:
    entries: list[tuple[YamlPath, VariantConfig]] = [(("baseline",), config.baseline)]
    entries += [(("variants", i), v) for i, v in enumerate(config.variants)]
    seen: set[str] = set()
    variants: list[Variant] = []
    for at, entry in entries:
        if entry.name in seen:
            raise where.error(f"two variants are named {entry.name!r}", (*at, "name"))
        seen.add(entry.name)
        spec_path = base / entry.spec
        if not spec_path.is_file():
            raise where.error(f"no team spec at {spec_path}", (*at, "spec"))
        variants.append(Variant(name=entry.name, spec=load_spec(spec_path), spec_path=spec_path))
    return tuple(variants)


def _check_tasks(suite: EvalSuite) -> None:
    """Fail before any run: a task without ``expected``, or inputs a spec refuses."""
    file = str(suite.tasks_path or "<tasks>")
    for task in suite.tasks:
        checker = task.check or suite.checker
        if checker.needs_expected and task.expected is None:
            raise SpecError(
                f"task {task.id!r} has no 'expected' for the {checker.name} checker; "
                "add one or give the task its own 'check'",
                file=file,
                line=task.line or None,
            )
        for variant in suite.variants:
            try:
                variant.spec.resolve_inputs(task.inputs)
            except SpecError as exc:
                raise SpecError(
                    f"task {task.id!r}: variant {variant.name!r} ({exc.file}): {exc.message}",
                    file=file,
                    line=task.line or None,
                    key="inputs",
                ) from None


def parse_eval(text: str, *, filename: str) -> EvalSuite:
    """The suite the eval YAML `text` describes; paths are relative to `filename`'s folder.

    Raises:
        SpecError: the first problem, in the eval file, the task file or a spec.
    """
    try:
        if not text.strip():
            raise SpecError("the eval file is empty; it needs tasks and baseline", file=filename)
        doc = Document.load(text, filename)
        where = Locator(filename, doc)
        if not isinstance(doc.data, dict):
            raise where.error("the eval file must be a mapping with tasks and baseline", ())
        try:
            config = EvalConfig.model_validate(doc.data)
        except ValidationError as exc:
            raise validation_error(exc, where, doc.data, _keys_at) from None
    except SpecError as exc:
        raise _renamed(exc) from None
    base = Path(filename).resolve().parent
    try:
        checker = checker_from(config.checker, base)
    except ConfigError as exc:
        raise where.error(f"checker: {exc}", ("checker",)) from None
    tasks_path = base / config.tasks
    if not tasks_path.is_file():
        raise where.error(f"no task file at {tasks_path}", ("tasks",))
    suite = EvalSuite(
        tasks=load_tasks(tasks_path),
        variants=_variants(config, base, where),
        checker=checker,
        concurrency=config.concurrency,
        repeat=config.repeat,
        budget=config.budget.budget() if config.budget else None,
        model=config.model,
        path=Path(filename).resolve(),
        tasks_path=tasks_path,
    )
    _check_tasks(suite)
    return suite


def load_eval(path: str | Path) -> EvalSuite:
    """Load the eval file at `path`, its task file and every team spec it names.

    Raises:
        SpecError: the first problem, in the eval file, the task file or a spec.
    """
    try:
        text = read_text(Path(path))
    except SpecError as exc:
        raise _renamed(exc) from None
    return parse_eval(text, filename=str(path))
