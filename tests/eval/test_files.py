"""Task files and eval files: problems are reported at file:line(:column)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from eval_kit import EXAMPLE

from podium.errors import SpecError
from podium.eval import Contains, PythonCheck, Regex, load_eval, load_tasks


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_the_example_task_file_loads() -> None:
    tasks = load_tasks(EXAMPLE / "tasks.jsonl")
    assert [t.id for t in tasks][:2] == ["backups", "expenses"]
    assert tasks[0].expected == ("02:00 UTC", "14 days") and tasks[0].line == 1
    assert isinstance(tasks[2].check, Regex) and isinstance(tasks[4].check, PythonCheck)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "a", "input": "x"', "invalid JSON"),
        ('["a", "x"]', "a task is a JSON object"),
        ('{"id": "a"}', "missing required key 'input'"),
        (
            '{"id": "a", "input": "x", "expect": "y"}',
            "unknown key 'expect' (did you mean 'expected'?)",
        ),
        ('{"id": "", "input": "x"}', "'id' must be a non-empty string"),
        ('{"id": "a", "input": 3}', "'input' must be a string"),
        ('{"id": "a", "input": "x", "inputs": {"n": 1}}', "'inputs' must be an object of strings"),
        ('{"id": "a", "input": "x", "expected": [1]}', "'expected' must be a string or a list"),
        ('{"id": "a", "input": "x", "inputs": []}', "'inputs' must be an object of strings"),
        ('{"id": "a", "input": "x", "expected": ""}', "'expected' holds an empty text"),
        ('{"id": "a", "input": "x", "expected": ["y", " "]}', "'expected' holds an empty text"),
        ('{"id": "a", "input": "x", "check": "fuzzy"}', "check: unknown checker 'fuzzy'"),
        ('{"id": "first", "input": "x"}', "duplicate task id 'first' (first at line 1)"),
    ],
)
def test_task_errors_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path / "tasks.jsonl", '{"id": "first", "input": "ok"}\n\n' + line + "\n")
    with pytest.raises(SpecError) as info:
        load_tasks(path)
    assert info.value.file == str(path) and info.value.line == 3
    assert str(info.value).startswith(f"{path}:3")
    assert message in info.value.message


def test_json_strings_may_hold_unicode_line_separators(tmp_path: Path) -> None:
    # valid JSON may hold U+2028 and U+0085 unescaped; only "\n" ends a JSONL line
    text = '{"id": "a", "input": "one\u2028two\u0085three"}\n{"id": "b", "input": "x"}\n'
    tasks = load_tasks(write(tmp_path / "tasks.jsonl", text))
    assert [(t.id, t.line) for t in tasks] == [("a", 1), ("b", 2)]
    assert tasks[0].input == "one\u2028two\u0085three"


def test_an_empty_task_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="holds no tasks"):
        load_tasks(write(tmp_path / "tasks.jsonl", "\n\n"))
    with pytest.raises(SpecError, match="cannot read the task file"):
        load_tasks(tmp_path / "missing.jsonl")


def _eval_dir(tmp_path: Path) -> Path:
    for name in ("single.yaml", "runbook_team.yaml", "runbook.py", "tasks.jsonl"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    return tmp_path


def test_the_example_eval_loads_with_its_specs() -> None:
    suite = load_eval(EXAMPLE / "eval.yaml")
    assert [v.name for v in suite.variants] == ["single", "single-runbook", "team"]
    assert suite.baseline.name == "single" and isinstance(suite.checker, Contains)
    assert suite.concurrency == 4 and suite.repeat == 1 and len(suite.tasks) == 6
    assert suite.budget is not None and suite.budget.model_calls == 10


@pytest.mark.parametrize(
    ("body", "line", "column", "message"),
    [
        ("tasks: tasks.jsonl\n", 1, 1, "missing required key 'baseline' in the eval file"),
        ("tasks: tasks.jsonl\nbaseline: {name: a, spec: single.yaml}\nrepat: 2\n",
         3, 1, "unknown key 'repat' in the eval file (did you mean 'repeat'?)"),
        ("tasks: tasks.jsonl\nbaseline: {name: a, spec: single.yaml}\nconcurrency: 0\n",
         3, 14, "concurrency: must be at least 1, got 0"),
        ("tasks: tasks.jsonl\nbaseline: {name: a, spec: single.yaml}\nchecker: fuzzy\n",
         3, 10, "unknown checker 'fuzzy'"),
        ("tasks: nope.jsonl\nbaseline: {name: a, spec: single.yaml}\n",
         1, 8, "no task file at"),
        ("tasks: tasks.jsonl\nbaseline: {name: a, spec: single.yaml}\nvariants:\n"
         "  - {name: a, spec: runbook_team.yaml}\n", 4, 12, "two variants are named 'a'"),
        ("tasks: tasks.jsonl\nbaseline: {name: a, spec: nope.yaml}\n",
         2, 27, "no team spec at"),
        ("tasks: tasks.jsonl\nbaseline: {name: a, spec: single.yaml}\nbudget: {dollars: 1}\n",
         3, 10, "unknown key 'dollars' in budget"),
        ("", None, None, "the eval file is empty"),
        ("- a\n", 1, 1, "must be a mapping"),
    ],
)  # fmt: skip
def test_eval_file_errors_point_at_line_and_column(
    tmp_path: Path, body: str, line: int | None, column: int | None, message: str
) -> None:
    path = write(_eval_dir(tmp_path) / "eval.yaml", body)
    with pytest.raises(SpecError) as info:
        load_eval(path)
    assert (info.value.file, info.value.line, info.value.column) == (str(path), line, column)
    assert message in info.value.message


def test_task_problems_found_at_load_name_the_task_line(tmp_path: Path) -> None:
    folder = _eval_dir(tmp_path)
    write(
        folder / "tasks.jsonl",
        '{"id": "a", "input": "x", "expected": "y"}\n{"id": "b", "input": "x"}\n',
    )
    path = write(
        folder / "eval.yaml", "tasks: tasks.jsonl\nbaseline: {name: a, spec: single.yaml}\n"
    )
    with pytest.raises(SpecError) as info:
        load_eval(path)
    assert info.value.line == 2 and info.value.file == str(folder / "tasks.jsonl")
    assert "task 'b' has no 'expected' for the contains checker" in info.value.message

    write(
        folder / "tasks.jsonl",
        '{"id": "a", "input": "x", "expected": "y", "inputs": {"topic": "z"}}\n',
    )
    with pytest.raises(SpecError) as info:
        load_eval(path)
    assert info.value.line == 1 and "variant 'a'" in info.value.message
    assert "unknown input 'topic'" in info.value.message
