"""The Python snippets of README.md and docs/*.md run offline as written."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "PODIUM_MODEL", "PODIUM_STORE", "PODIUM_PRICES")
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)

# Snippets that are fragments (top-level `await`, names defined elsewhere) or need an
# optional download; matched by a line of the snippet.
FRAGMENTS = {
    'result = await team.run("Migrate the billing tables", store=store)': "await, team",
    "def append_row(row: str, ctx: ToolContext) -> str:": "ledger is the reader's",
    "def send_email(to: str, body: str) -> str: ...": "a decorator and a stage, no run",
    'await team.run("...", approver=approver)': "await, team",
    "def cites_runbook(output: str, task: EvalTask) -> tuple[float, str]:": "in examples/eval",
    "guarded = CircuitBreakerModel(model=my_retrying_model, breaker=breaker)": "your model",
    'mem = SqliteVecMemory(".podium/memory.db", MiniLMEmbedder(), collection="minilm")': "extra",
}
# What a snippet prints (or fails with, offline), matched by a line of the snippet.
EXPECTED = {
    'writer = Agent("writer", role="writes the report", model="anthropic:claude-haiku-4-5")': (
        "error openai:gpt-4o needs an API key"
    ),
    "print(result.stop_reason, result.usage.total.cost_usd)   # completed 0.000117": (
        "completed 0.000117"
    ),
    "print(result.usage.total.cost_usd <= 0.02)      # True": "budget\nTrue",
    "print(result.stop_reason)          # verification_failed": "verification_failed",
    "print(result.stop_reason)  # verification_failed offline": "verification_failed",
    "print(sorted(result.partial))  # ['notes', 'risks', 'summary']": "['notes', 'risks'",
    "print(result.output)  # Every Friday.": "Every Friday.",
    "for event in await store.events(result.run_id):": "0 run_start root",
    'print(v.name, f"{v.success_rate:.0%}", v.delta)': "single-runbook 100%",
    'model = FallbackModel("openai:gpt-4o-mini", "anthropic:claude-haiku-4-5")': (
        "openai:gpt-4o-mini needs an API key"
    ),
}


@dataclass(frozen=True)
class Snippet:
    doc: Path
    line: int
    code: str

    @property
    def id(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"

    def marked(self, table: dict[str, str]) -> str | None:
        return next((v for k, v in table.items() if k in self.code), None)


def snippets(lang: str) -> list[Snippet]:
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for m in BLOCK.finditer(text):
            if m.group(1) == lang:
                found.append(Snippet(doc, text[: m.start()].count("\n") + 1, m.group(2)))
    return found


def block_after(doc: Path, marker: str) -> str:
    """The first code block after `marker` in `doc`."""
    text = doc.read_text(encoding="utf-8")
    match = BLOCK.search(text, text.index(marker))
    assert match, marker
    return match.group(2)


def offline_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in KEYS}


def prepare(snippet: Snippet, folder: Path) -> None:
    """Files a snippet reads, as the docs describe them."""
    if 'load_spec("team.yaml")' in snippet.code:  # docs/spec.md: its full example
        spec_md = ROOT / "docs" / "spec.md"
        (folder / "team.yaml").write_text(block_after(spec_md, "`team.yaml`:"), encoding="utf-8")
        (folder / "tools.py").write_text(block_after(spec_md, "`tools.py`, in the same"))
    if "examples/eval/" in snippet.code:  # run from the repository root
        shutil.copytree(ROOT / "examples" / "eval", folder / "examples" / "eval")


PYTHON = snippets("python")


def test_every_fragment_and_expectation_matches_a_snippet() -> None:
    for table in (FRAGMENTS, EXPECTED):
        for marker in table:
            assert any(marker in s.code for s in PYTHON), marker


def run_offline(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `cmd` in `cwd` with no provider keys in the environment."""
    return subprocess.run(
        cmd, cwd=cwd, env=offline_env(), capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("snippet", PYTHON, ids=lambda s: s.id)
def test_python_snippet_runs_offline(snippet: Snippet, tmp_path: Path) -> None:
    if snippet.marked(FRAGMENTS):
        pytest.skip(f"a fragment: {snippet.marked(FRAGMENTS)}")
    prepare(snippet, tmp_path)
    (tmp_path / "snippet.py").write_text(snippet.code, encoding="utf-8")
    done = run_offline([sys.executable, "snippet.py"], tmp_path)
    expected = snippet.marked(EXPECTED)
    if expected and "needs an API key" in expected and done.returncode:
        assert expected in done.stderr  # builds, then fails with the documented error
        return
    assert done.returncode == 0, done.stderr
    if expected:
        assert expected in done.stdout


def test_spec_full_example_runs_offline_with_a_model_override(tmp_path: Path) -> None:
    spec_md = ROOT / "docs" / "spec.md"
    (tmp_path / "team.yaml").write_text(block_after(spec_md, "`team.yaml`:"), encoding="utf-8")
    (tmp_path / "tools.py").write_text(block_after(spec_md, "`tools.py`, in the same"))
    args = ["run", "team.yaml", "Compare SQLite and PostgreSQL", "--input", "topic=databases"]
    args += ["--model", "scripted:demo", "--json", "--store", "memory"]
    done = run_offline(
        [sys.executable, "-c", "from podium.cli import main; main()", *args], tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert '"stop_reason": "completed"' in done.stdout
