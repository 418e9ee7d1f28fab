"""The public names of podium.eval are a decision: this list pins them."""

from __future__ import annotations

import podium.eval


def test_public_names() -> None:
    assert podium.eval.__all__ == [
        "JUDGE_RUBRIC",
        "PASS_MARK",
        "REPORT_FORMAT",
        "Checker",
        "Contains",
        "Delta",
        "EvalReport",
        "EvalSuite",
        "EvalTask",
        "Exact",
        "JsonSchema",
        "Judge",
        "JudgeError",
        "PythonCheck",
        "Regex",
        "RunRow",
        "Score",
        "Variant",
        "VariantSummary",
        "checker_from",
        "load_eval",
        "load_tasks",
        "p95",
        "parse_eval",
        "parse_tasks",
        "run_eval",
        "summarize",
    ]
    for name in podium.eval.__all__:
        assert getattr(podium.eval, name) is not None
