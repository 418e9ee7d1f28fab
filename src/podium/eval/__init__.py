"""Evaluation: run a task set through a single-agent baseline and team variants.

Start from one agent, split where it fails, keep a team only when it is
measurably better. ``podium eval EVAL.yaml`` (or `load_eval` + `run_eval`) runs
every task through every variant as recorded runs, scores each output with a
checker, and reports success rate, latency, tokens and cost per variant with
the difference against the baseline. See docs/eval.md.
"""

from podium.eval._checks import (
    JUDGE_RUBRIC,
    PASS_MARK,
    Checker,
    Contains,
    Exact,
    JsonSchema,
    Judge,
    JudgeError,
    PythonCheck,
    Regex,
    Score,
    checker_from,
)
from podium.eval._config import EvalSuite, Variant, load_eval, parse_eval
from podium.eval._report import (
    REPORT_FORMAT,
    Delta,
    EvalReport,
    RunRow,
    VariantSummary,
    p95,
    summarize,
)
from podium.eval._runner import run_eval
from podium.eval._tasks import EvalTask, load_tasks, parse_tasks

__all__ = [
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
