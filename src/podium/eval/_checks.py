"""Checkers: score a run's output against a task, 0..1 with a reason.

A checker is named in an eval file (``checker:``) or on a task (``check``)::

    exact                       the output, stripped, equals ``expected``
    contains                    the output holds ``expected`` (case-insensitive);
                                with a list, the score is the share found
    {regex: PATTERN}            `re.search` finds PATTERN in the output
    {json_schema: {...}}        the output is JSON matching the schema
    {python: "pkg.mod:fn"}      fn(output, task) returns a bool, a float in
                                [0, 1], or (bool | float, reason)
    {judge: {model, rubric}}    a model grades the output against the task, the
                                expected answer (if any) and a rubric; both keys
                                are optional. Its calls are counted apart from
                                the runs' own usage.

A run succeeds when its score is at least `PASS_MARK` (0.5).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, Field

from podium._engine._output import parse_output, schema_of
from podium._spec_check import check_model_name
from podium._spec_imports import ImportPathError, import_object
from podium.errors import ConfigError, JudgeError
from podium.messages import Message
from podium.models._base import Model, ModelRequest, Usage
from podium.models._resolve import default_model_name, resolve_model

if TYPE_CHECKING:
    from podium.eval._tasks import EvalTask

__all__ = [
    "PASS_MARK",
    "Checker",
    "Contains",
    "Exact",
    "JsonSchema",
    "Judge",
    "JudgeError",
    "PythonCheck",
    "Regex",
    "Score",
    "check_ref",
    "checker_from",
]

PASS_MARK = 0.5
"""A run whose score is at least this counts as a success."""

_NAMED = ("exact", "contains")
_KEYED = ("regex", "json_schema", "python", "judge")
_IMPORT_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
_NEEDS = {
    "regex": "a pattern string",
    "json_schema": "a mapping",
    "python": "an import path 'pkg.mod:fn'",
    "judge": "a mapping with an optional model ('provider:name') and rubric (text)",
}
_FORMS = (
    "'exact', 'contains', {regex: PATTERN}, {json_schema: SCHEMA}, {python: 'pkg.mod:fn'} "
    "or {judge: {model: 'provider:name', rubric: TEXT}}"
)
_JUDGE_KEYS = frozenset({"model", "rubric"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Score:
    """How well an output did: `value` in [0, 1] and why."""

    value: float
    reason: str
    usage: Usage | None = None
    """What scoring cost: the model calls of an LLM judge (None for the other checkers)."""

    @property
    def passed(self) -> bool:
        """True when `value` reaches `PASS_MARK`."""
        return self.value >= PASS_MARK


class Checker(Protocol):
    """Scores one output; `needs_expected` says whether tasks must give ``expected``."""

    @property
    def name(self) -> str:
        """How the checker is shown in reports."""
        ...

    @property
    def needs_expected(self) -> bool:
        """Whether tasks checked by this must have an ``expected`` value."""
        ...

    async def check(self, output: str, task: EvalTask) -> Score:
        """Score `output`, the text of a completed run of `task`."""
        ...


def _expected(task: EvalTask) -> tuple[str, ...]:
    if task.expected is None:
        raise ConfigError(f"task {task.id!r} has no 'expected' value to check against")
    return (task.expected,) if isinstance(task.expected, str) else task.expected


@dataclass(frozen=True, slots=True)
class Exact:
    """Passes when the stripped output equals the (or one) expected value."""

    name: str = "exact"
    needs_expected: bool = True

    async def check(self, output: str, task: EvalTask) -> Score:
        """1 on an exact match (surrounding whitespace ignored), else 0."""
        wanted = _expected(task)
        if output.strip() in (w.strip() for w in wanted):
            return Score(value=1.0, reason="exact match")
        return Score(value=0.0, reason=f"expected {wanted[0][:80]!r}")


@dataclass(frozen=True, slots=True)
class Contains:
    """Scores the share of expected texts the output contains, ignoring case."""

    name: str = "contains"
    needs_expected: bool = True

    async def check(self, output: str, task: EvalTask) -> Score:
        """The found share of ``expected``; the reason lists what is missing."""
        wanted = _expected(task)
        text = output.casefold()
        missing = [w for w in wanted if w.casefold() not in text]
        value = (len(wanted) - len(missing)) / len(wanted)
        if not missing:
            return Score(value=value, reason="contains every expected text")
        return Score(value=value, reason="missing " + ", ".join(repr(m) for m in missing))


@dataclass(frozen=True, slots=True)
class Regex:
    """Passes when `re.search` finds `pattern` in the output."""

    pattern: str
    name: str = "regex"
    needs_expected: bool = False

    async def check(self, output: str, task: EvalTask) -> Score:
        """1 when the pattern is found, else 0."""
        found = re.search(self.pattern, output)
        if found:
            return Score(value=1.0, reason=f"matched {found.group(0)[:60]!r}")
        return Score(value=0.0, reason=f"no match for /{self.pattern}/")


@dataclass(frozen=True, slots=True)
class JsonSchema:
    """Passes when the output parses as JSON and matches `schema`."""

    schema: dict[str, Any]
    name: str = "json_schema"
    needs_expected: bool = False

    async def check(self, output: str, task: EvalTask) -> Score:
        """1 when valid, else 0 with the first problem as the reason."""
        import jsonschema

        try:
            value = json.loads(output)
        except json.JSONDecodeError as exc:
            return Score(value=0.0, reason=f"not JSON: {exc.msg} at position {exc.pos}")
        errors = sorted(
            jsonschema.Draft202012Validator(self.schema).iter_errors(value),
            key=lambda e: [str(p) for p in e.path],
        )
        if not errors:
            return Score(value=1.0, reason="matches the JSON schema")
        where = "/".join(str(p) for p in errors[0].path) or "(root)"
        return Score(value=0.0, reason=f"{where}: {errors[0].message}")


@dataclass(frozen=True, slots=True)
class PythonCheck:
    """Scores with a user function ``fn(output, task)``; it may be async.

    A plain function runs in a worker thread, so it may block (run tests, call
    a judge) without holding up the runs in flight.
    """

    path: str
    fn: Callable[[str, EvalTask], Any]
    needs_expected: bool = False

    @property
    def name(self) -> str:
        """``python:pkg.mod:fn``."""
        return f"python:{self.path}"

    async def check(self, output: str, task: EvalTask) -> Score:
        """Call the function and read a bool, a float in [0, 1] or (either, reason)."""
        if inspect.iscoroutinefunction(self.fn):
            answer = await self.fn(output, task)
        else:  # in a thread: a slow checker must not stall (and so lengthen) the runs in flight
            answer = await asyncio.to_thread(self.fn, output, task)
        if inspect.isawaitable(answer):
            answer = await answer
        reason = ""
        if isinstance(answer, tuple) and len(answer) == 2 and isinstance(answer[1], str):
            answer, reason = answer
        if isinstance(answer, bool):
            return Score(value=float(answer), reason=reason or ("passed" if answer else "failed"))
        if isinstance(answer, int | float) and 0 <= answer <= 1:
            return Score(value=float(answer), reason=reason or f"scored {answer:g}")
        raise ConfigError(
            f"checker {self.path!r} returned {answer!r}; return a bool, a number in [0, 1] "
            "or (bool | number, reason)"
        )


JUDGE_RUBRIC = (
    "Does the answer do what the task asks, correctly and completely? When an expected "
    "answer is given, the answer must agree with it."
)
"""The rubric of a judge that is given none."""

_JUDGE_SYSTEM = (
    "You grade one answer to one task against a rubric. Reply with only a JSON object: "
    '{"score": a number from 0 (fails the rubric) to 1 (fully meets it), '
    '"reason": "one short sentence"}.'
)
_JUDGE_ANSWER_CHARS = 16_000


class _Verdict(BaseModel):
    score: float = Field(ge=0, le=1, description="0 fails the rubric, 1 fully meets it")
    reason: str = Field(max_length=2_000, description="why, in one short sentence")


class Judge:
    """Scores with a model, an "LLM judge".

    The judge reads the task, the expected answer when there is one, a rubric and
    the output, and answers a score in [0, 1] with a reason. Its calls are not
    part of any run: their tokens and cost are reported apart from the runs'
    (`Score.usage`, the ``judge_*`` fields of the report).

    Args:
        model: ``provider:name`` of the judge; `default_model_name()` when None
            (``PODIUM_MODEL``, a configured provider, else the offline scripted model).
        rubric: what a good answer is; `JUDGE_RUBRIC` when None.
        max_tokens: the cap on each verdict.
    """

    needs_expected = False

    def __init__(
        self, model: str | Model | None = None, rubric: str | None = None, *, max_tokens: int = 400
    ) -> None:
        self.model: str | Model = model if model is not None else default_model_name()
        self.rubric = rubric if rubric is not None else JUDGE_RUBRIC
        self.max_tokens = max_tokens
        self._resolved: Model | None = None

    @property
    def name(self) -> str:
        """``judge:provider:name``."""
        model = self.model if isinstance(self.model, str) else self.model.name
        return f"judge:{model}"

    def prompt(self, output: str, task: EvalTask) -> str:
        """The user message the judge reads."""
        parts = [f"## Task\n{task.input.strip()}"]
        if task.inputs:
            parts.append("## Inputs\n" + "\n".join(f"- {k}: {v}" for k, v in task.inputs.items()))
        if task.expected is not None:
            parts.append("## Expected answer\n" + "\n".join(_expected(task)))
        parts.append(f"## Rubric\n{self.rubric.strip()}")
        answer = output[:_JUDGE_ANSWER_CHARS]
        if len(output) > _JUDGE_ANSWER_CHARS:
            answer += f"\n[... cut: {len(output)} characters, first {_JUDGE_ANSWER_CHARS} shown]"
        parts.append(f"## Answer to grade\n{answer}")
        return "\n\n".join(parts)

    async def check(self, output: str, task: EvalTask) -> Score:
        """Ask the judge; its score and reason, with what the call cost.

        Raises:
            JudgeError: the verdict is not a JSON object with a score in [0, 1].
            ConfigError, ProviderError: the judge model cannot be resolved or called.
        """
        if self._resolved is None:
            self._resolved = resolve_model(self.model)
        request = ModelRequest(
            messages=(Message.system(_JUDGE_SYSTEM), Message.user(self.prompt(output, task))),
            max_tokens=self.max_tokens,
            temperature=0.0,
            output_schema=schema_of(_Verdict),
            output_name="Verdict",
        )
        response = await self._resolved.request(request)
        try:
            verdict = parse_output(response.text, _Verdict)
        except ValueError as exc:
            raise JudgeError(
                f"the judge {self.name} gave no usable verdict: {exc}", usage=response.usage
            ) from None
        assert isinstance(verdict, _Verdict)
        return Score(value=verdict.score, reason=verdict.reason, usage=response.usage)


def check_ref(value: Any) -> Any:
    """`value` if it has the shape of a checker reference; ValueError saying the forms."""
    if isinstance(value, str):
        if value in _NAMED:
            return value
        if value.partition(":")[0].strip() in _KEYED:
            raise ValueError(f"write {value!r} as a mapping, e.g. {{regex: PATTERN}}")
        raise ValueError(f"unknown checker {value!r}; use {_FORMS}")
    if isinstance(value, dict) and len(value) == 1:
        ((kind, arg),) = value.items()
        if kind == "regex" and isinstance(arg, str):
            return value
        if kind == "json_schema" and isinstance(arg, dict):
            return value
        if kind == "python" and isinstance(arg, str) and _IMPORT_PATH.fullmatch(arg):
            return value
        if kind == "judge" and isinstance(arg, dict) and _judge_args(arg):
            return value
        if kind in _KEYED:
            need = _NEEDS[kind]
            raise ValueError(f"checker {kind} takes {need}, not {arg!r}")
    raise ValueError(f"a checker is {_FORMS}, not {value!r}")


def _judge_args(arg: dict[str, Any]) -> bool:
    """True for a valid judge mapping; ValueError naming the bad key or value."""
    unknown = sorted(set(arg) - _JUDGE_KEYS)
    if unknown:
        raise ValueError(f"checker judge takes model and rubric, not {', '.join(unknown)}")
    model, rubric = arg.get("model"), arg.get("rubric")
    if model is not None:
        if not isinstance(model, str):
            raise ValueError(f"checker judge: model must be 'provider:name', not {model!r}")
        check_model_name(model)
    if rubric is not None and (not isinstance(rubric, str) or not rubric.strip()):
        raise ValueError(f"checker judge: rubric must be a non-empty text, not {rubric!r}")
    return True


def _schema(schema: dict[str, Any]) -> JsonSchema:
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - depends on the install
        raise ConfigError("the json_schema checker needs `pip install 'podium[verify]'`") from None
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ConfigError(f"invalid JSON schema: {exc.message}") from None
    return JsonSchema(schema)


def _python(path: str, directory: Path | None) -> PythonCheck:
    try:
        fn = import_object(path, directory)
    except ImportPathError as exc:
        raise ConfigError(f"cannot import checker {path!r}: {exc}") from None
    if not callable(fn) or isinstance(fn, type):
        raise ConfigError(f"checker {path!r} is {type(fn).__name__}, not a function")
    try:
        inspect.signature(fn).bind(None, None)
    except TypeError:
        raise ConfigError(
            f"checker {path!r} must take 2 arguments (output, task), "
            f"but its signature is {inspect.signature(fn)}"
        ) from None
    except ValueError:  # no signature (some builtins): trust it
        pass
    return PythonCheck(path, fn)


def checker_from(ref: str | dict[str, Any], directory: Path | None = None) -> Checker:
    """The checker `ref` names (see the module docstring for the forms).

    Args:
        ref: ``"exact"``, ``"contains"`` or a one-key mapping.
        directory: put first on ``sys.path`` while importing a python checker.

    Raises:
        ConfigError: an unknown form, an invalid regex or schema, or a python
            checker that cannot be imported or does not take (output, task).
    """
    try:
        check_ref(ref)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if ref == "exact":
        return Exact()
    if ref == "contains":
        return Contains()
    assert isinstance(ref, dict)
    ((kind, arg),) = ref.items()
    if kind == "regex":
        try:
            re.compile(arg)
        except re.error as exc:
            raise ConfigError(f"invalid regex {arg!r}: {exc}") from None
        return Regex(arg)
    if kind == "json_schema":
        return _schema(arg)
    if kind == "judge":
        return Judge(arg.get("model"), arg.get("rubric"))
    return _python(arg, directory)
