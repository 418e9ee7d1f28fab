"""Each checker scores 0..1 with a reason; bad references fail with a clear error."""

from __future__ import annotations

import asyncio
import pickle
from pathlib import Path

import pytest

from podium.errors import ConfigError
from podium.eval import (
    JUDGE_RUBRIC,
    PASS_MARK,
    EvalTask,
    Judge,
    JudgeError,
    Score,
    checker_from,
)
from podium.testing import Price, ScriptedModel


def score(
    ref: object, output: str, expected: object = None, directory: Path | None = None
) -> Score:
    task = EvalTask(id="t", input="q", expected=expected)  # type: ignore[arg-type]
    return asyncio.run(checker_from(ref, directory).check(output, task))  # type: ignore[arg-type]


def test_exact_ignores_surrounding_whitespace_only() -> None:
    assert score("exact", "  Paris\n", "Paris").value == 1.0
    miss = score("exact", "paris", "Paris")
    assert miss.value == 0.0 and not miss.passed and "Paris" in miss.reason
    assert score("exact", "Lyon", ("Paris", "Lyon")).passed


def test_contains_is_case_insensitive_and_scores_the_share_found() -> None:
    assert score("contains", "Backups run at 02:00 utc.", "02:00 UTC").value == 1.0
    half = score("contains", "kept for 14 days", ("02:00 UTC", "14 days"))
    assert half.value == 0.5 and half.passed and "'02:00 UTC'" in half.reason
    assert PASS_MARK == 0.5
    assert not score("contains", "nothing", ("a1", "b2", "c3")).passed


def test_exact_and_contains_need_expected() -> None:
    with pytest.raises(ConfigError, match="no 'expected'"):
        score("contains", "text")


def test_regex_searches_anywhere() -> None:
    hit = score({"regex": r"port \d+"}, "UDP port 51820")
    assert hit.value == 1.0 and "port 51820" in hit.reason
    assert score({"regex": "^port"}, "UDP port 1").value == 0.0


def test_json_schema_parses_and_validates() -> None:
    schema = {"type": "object", "required": ["port"], "properties": {"port": {"type": "integer"}}}
    assert score({"json_schema": schema}, '{"port": 51820}').passed
    wrong = score({"json_schema": schema}, '{"port": "51820"}')
    assert not wrong.passed and wrong.reason.startswith("port:")
    assert "not JSON" in score({"json_schema": schema}, "port 51820").reason


def test_python_checker_returns_bool_float_or_tuple(tmp_path: Path) -> None:
    (tmp_path / "my_checks.py").write_text(
        "def yes(output, task):\n    return task.id in output\n"
        "def graded(output, task):\n    return 0.25\n"
        "def why(output, task):\n    return True, 'looks right'\n"
        "async def slow(output, task):\n    return 1.0\n"
        "def bad(output, task):\n    return 7\n"
        "def one(output):\n    return True\n"
    )
    assert score({"python": "my_checks:yes"}, "about t", directory=tmp_path).value == 1.0
    graded = score({"python": "my_checks:graded"}, "", directory=tmp_path)
    assert graded.value == 0.25 and not graded.passed
    assert score({"python": "my_checks:why"}, "", directory=tmp_path).reason == "looks right"
    assert score({"python": "my_checks:slow"}, "", directory=tmp_path).value == 1.0
    with pytest.raises(ConfigError, match=r"returned 7; return a bool, a number in \[0, 1\]"):
        score({"python": "my_checks:bad"}, "", directory=tmp_path)
    with pytest.raises(ConfigError, match=r"must take 2 arguments \(output, task\)"):
        checker_from({"python": "my_checks:one"}, tmp_path)


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("fuzzy", "unknown checker 'fuzzy'; use 'exact', 'contains'"),
        ("regex: a+", "write 'regex: a+' as a mapping"),
        ({"regex": 3}, "checker regex takes a pattern string, not 3"),
        ({"regex": "(unclosed"}, "invalid regex '(unclosed'"),
        ({"json_schema": "object"}, "checker json_schema takes a mapping"),
        ({"json_schema": {"type": "nope"}}, "invalid JSON schema"),
        ({"python": "no_colon"}, "an import path 'pkg.mod:fn'"),
        ({"python": "no_such_module_xyz:fn"}, "module 'no_such_module_xyz' not found"),
        ({"python": "json:nope"}, "module 'json' has no attribute 'nope'"),
        ({"python": "json:JSONDecoder"}, "is type, not a function"),
        ({"regex": "a", "python": "m:f"}, "a checker is 'exact', 'contains'"),
        ({"judge": "be strict"}, "checker judge takes a mapping with an optional model"),
        ({"judge": {"model": "gpt-4o"}}, "'gpt-4o'"),
        ({"judge": {"model": 3}}, "model must be 'provider:name', not 3"),
        ({"judge": {"rubric": "  "}}, "rubric must be a non-empty text"),
        ({"judge": {"temperature": 0}}, "checker judge takes model and rubric, not temperature"),
    ],
)
def test_bad_references_say_what_is_wrong(ref: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        checker_from(ref)  # type: ignore[arg-type]
    assert message in str(info.value)


# --- the LLM judge --------------------------------------------------------------------


def judge_with(answer: str, price: Price | None = None) -> tuple[Judge, ScriptedModel]:
    model = ScriptedModel(fn=lambda request: answer, name="judge", price=price)
    return Judge(model, "Name the port."), model


def test_the_judge_scores_from_its_verdict_and_reports_what_it_cost() -> None:
    judge, model = judge_with(
        '{"score": 0.8, "reason": "names the port"}', price=Price(input=1.0, output=2.0)
    )
    task = EvalTask(id="vpn", input="Which port does the VPN use?", expected="51820")
    graded = asyncio.run(judge.check("UDP 51820.", task))
    assert (graded.value, graded.reason, graded.passed) == (0.8, "names the port", True)
    assert graded.usage is not None and graded.usage.input_tokens > 0
    assert graded.usage.cost_usd == pytest.approx(
        (graded.usage.input_tokens * 1.0 + graded.usage.output_tokens * 2.0) / 1_000_000
    )
    (request,) = model.requests
    prompt = request.messages[-1].content
    for part in ("Which port does the VPN use?", "51820", "Name the port.", "UDP 51820."):
        assert part in prompt
    assert request.output_name == "Verdict" and request.temperature == 0.0
    assert judge.name == "judge:scripted:judge"


@pytest.mark.parametrize(
    "answer", ["I think it is fine", '{"score": 1.5, "reason": "too good"}', '{"reason": "?"}']
)
def test_an_unusable_verdict_is_an_error_that_keeps_its_cost(answer: str) -> None:
    judge, _ = judge_with(answer, price=Price(input=1.0, output=1.0))
    with pytest.raises(JudgeError, match="the judge judge:scripted:judge gave no usable verdict"):
        asyncio.run(judge.check("x", EvalTask(id="t", input="q")))
    try:
        asyncio.run(judge.check("x", EvalTask(id="t", input="q")))
    except JudgeError as exc:
        assert exc.usage is not None and exc.usage.cost_usd > 0
        copy = pickle.loads(pickle.dumps(exc))
        assert str(copy) == str(exc) and copy.usage == exc.usage


def test_a_judge_from_a_reference_uses_the_default_model_and_rubric(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PODIUM_MODEL", "scripted:grader")
    judge = checker_from({"judge": {}})
    assert isinstance(judge, Judge) and judge.name == "judge:scripted:grader"
    assert judge.rubric == JUDGE_RUBRIC and not judge.needs_expected
    named = checker_from({"judge": {"model": "scripted:strict", "rubric": "Cite a source."}})
    assert isinstance(named, Judge) and named.rubric == "Cite a source."
    offline = asyncio.run(named.check("see the runbook", EvalTask(id="t", input="q")))
    assert 0.0 <= offline.value <= 1.0 and offline.usage is not None  # the demo model answers
