"""Task sets: a JSONL file, one task per line.

Each line is a JSON object::

    {"id": "backups", "input": "When do backups run?", "expected": "02:00 UTC"}

with ``id`` (unique) and ``input`` (the task text) required, and optional
``inputs`` (the run's named inputs), ``expected`` (a string, or a list of
strings for ``contains``) and ``check`` (a checker for this task only, see
`podium.eval.checker_from`). Blank lines are skipped. Every problem is a
`SpecError` naming ``file:line``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podium.errors import ConfigError, SpecError
from podium.eval._checks import Checker, checker_from
from podium.registry import suggest

__all__ = ["EvalTask", "load_tasks", "parse_tasks"]

_KEYS = ("id", "input", "inputs", "expected", "check")
MAX_TASKS_BYTES = 16 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class EvalTask:
    """One task of a task set.

    Attributes:
        id: unique within the set.
        input: the task text (``{name}`` placeholders are filled from `inputs`).
        inputs: the run's named inputs.
        expected: what `exact`/`contains` compare with; a tuple means several texts.
        check: this task's own checker, instead of the eval's default.
        line: the line of the task file it came from (0 when made in code).
    """

    id: str
    input: str
    inputs: dict[str, str] = field(default_factory=dict)
    expected: str | tuple[str, ...] | None = None
    check: Checker | None = None
    line: int = 0


def _error(filename: str, line: int, message: str, key: str | None = None) -> SpecError:
    return SpecError(message, file=filename, line=line, key=key)


def _task(data: Any, filename: str, line: int, directory: Path | None) -> EvalTask:
    def fail(message: str, key: str | None = None) -> SpecError:
        return _error(filename, line, message, key)

    if not isinstance(data, dict):
        raise fail(f"a task is a JSON object with 'id' and 'input', not {type(data).__name__}")
    for key in data:
        if key not in _KEYS:
            raise fail(f"unknown key {key!r}{suggest(key, _KEYS)}; a task has {_KEYS}", key)
    for key in ("id", "input"):
        if key not in data:
            raise fail(f"missing required key {key!r}", key)
    task_id, text = data["id"], data["input"]
    if isinstance(task_id, bool) or not isinstance(task_id, str | int) or str(task_id) == "":
        raise fail(f"'id' must be a non-empty string, not {task_id!r}", "id")
    if not isinstance(text, str):
        raise fail(f"'input' must be a string, not {text!r}", "input")
    inputs = {} if data.get("inputs") is None else data["inputs"]
    if not isinstance(inputs, dict) or not all(isinstance(v, str) for v in inputs.values()):
        raise fail("'inputs' must be an object of strings", "inputs")
    expected = data.get("expected")
    if isinstance(expected, list) and expected and all(isinstance(e, str) for e in expected):
        expected = tuple(expected)
    elif expected is not None and not isinstance(expected, str):
        raise fail(f"'expected' must be a string or a list of strings, not {expected!r}")
    texts = (expected,) if isinstance(expected, str) else expected or ()
    if not all(t.strip() for t in texts):
        raise fail("'expected' holds an empty text, which every output contains", "expected")
    check: Checker | None = None
    if data.get("check") is not None:
        try:
            check = checker_from(data["check"], directory)
        except ConfigError as exc:
            raise fail(f"check: {exc}", "check") from None
    return EvalTask(
        id=str(task_id), input=text, inputs=inputs, expected=expected, check=check, line=line
    )


def parse_tasks(
    text: str, *, filename: str = "<tasks>", directory: Path | None = None
) -> tuple[EvalTask, ...]:
    """The tasks in JSONL `text`; python checkers import from `directory` first.

    Raises:
        SpecError: a line is not a JSON object, a key is unknown or missing, a
            value has the wrong type, an id repeats, a checker is invalid, or
            there are no tasks; the error names ``file:line``.
    """
    tasks: list[EvalTask] = []
    seen: dict[str, int] = {}
    # "\n" only: str.splitlines() also breaks at U+2028, U+0085..., which JSON strings may hold
    for number, raw in enumerate(text.split("\n"), 1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SpecError(
                f"invalid JSON: {exc.msg}", file=filename, line=number, column=exc.colno
            ) from None
        task = _task(data, filename, number, directory)
        if task.id in seen:
            raise _error(
                filename, number, f"duplicate task id {task.id!r} (first at line {seen[task.id]})"
            )
        seen[task.id] = number
        tasks.append(task)
    if not tasks:
        raise SpecError("the task file holds no tasks (one JSON object per line)", file=filename)
    return tuple(tasks)


def load_tasks(path: str | Path) -> tuple[EvalTask, ...]:
    """The tasks of the JSONL file at `path`; see `parse_tasks`.

    Raises:
        SpecError: the file cannot be read, or the first problem in it.
    """
    path = Path(path)
    try:
        if path.stat().st_size > MAX_TASKS_BYTES:
            raise SpecError(
                f"the task file is larger than {MAX_TASKS_BYTES >> 20} MiB", file=str(path)
            )
        text = path.read_text("utf-8-sig")
    except OSError as exc:
        raise SpecError(
            f"cannot read the task file: {exc.strerror or exc}", file=str(path)
        ) from None
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"the task file is not UTF-8 text (bad byte at offset {exc.start})", file=str(path)
        ) from None
    return parse_tasks(text, filename=str(path), directory=path.resolve().parent)
