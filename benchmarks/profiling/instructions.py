"""W1's CPU instructions per run, counted by valgrind: a noise-free yardstick.

``python -m benchmarks.profiling.instructions [VARIANT ...]`` (from the repo root;
needs ``valgrind`` on the PATH). Wall-clock figures on a shared or virtual machine
drift by 10-30 % between processes; instruction counts repeat to about 0.2 %, so
a change that saves 1 % shows. The count is taken for 100 and for 300 W1 runs
(memory store) in fresh processes and divided out, which cancels start-up and
imports. It includes the scripted model's own work and, for ``single``/``trivial``,
a different runnable, so compare variants with each other, not with W1's µs.

Variants (several may be combined with ``+``, e.g. ``fastmodel+noredact``):

- ``baseline``: W1 as `run.py` runs it.
- ``fastmodel``: the model answers without the scripted model's bookkeeping.
- ``noredact``: a redactor with no patterns (nothing to look for).
- ``nogc``: the cyclic garbage collector off.
- ``noemit``: events are built but not recorded (no store, no listeners).
- ``seq``: the orchestrator awaits subtasks one by one instead of in tasks.
- ``single``: one agent, one model call per run, instead of the orchestrator.
- ``trivial``: a runnable that returns at once: the cost of a run itself.

Like ``ablate_w1``, the stubs patch podium's private modules; a diagnostic, not
a supported configuration.
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[2]
_SMALL, _LARGE = 100, 300


def _child(variant: set[str], runs: int) -> None:
    from podium import Agent, MemoryStore
    from podium.observe import Redactor

    from ..workloads._common import TimedModel
    from ..workloads.w1_overhead import answer, team

    kwargs: dict[str, Any] = {}
    if "noredact" in variant:
        kwargs["redactor"] = Redactor(key_shapes=False)
    if "nogc" in variant:
        gc.disable()
    if "noemit" in variant:
        import podium._engine._context as context

        from .ablate_w1 import no_record

        context.Recorder.record = no_record  # type: ignore[method-assign]
    if "fastmodel" in variant:
        from podium.models._base import ModelResponse, Usage

        async def request(self: Any, request: Any) -> ModelResponse:
            self.calls += 1
            return ModelResponse(
                text=answer(request),
                usage=Usage(input_tokens=1, output_tokens=1),
                model=self.name,
            )

        TimedModel.request = request  # type: ignore[method-assign]
    if "seq" in variant:
        import podium.patterns.orchestrator as orchestrator

        async def one_by_one(coros: list[Any]) -> None:
            for coro in coros:
                await coro

        orchestrator._run_all = one_by_one

    model = TimedModel(fn=answer, latency=0.0)
    runnable: Any = team(model)
    if "single" in variant:
        runnable = Agent("solo", model=model)
    if "trivial" in variant:
        from podium._engine._runnable import RunMixin

        class Trivial(RunMixin):
            name, role = "trivial", ""

            async def invoke(self, task: Any, ctx: Any) -> str:
                return "done"

        runnable = Trivial()

    async def main() -> None:
        store = MemoryStore()
        for _ in range(20 + runs):  # 20 warm-up runs in both counts
            result = await runnable.run("Summarise the report.", store=store, **kwargs)
            assert result.stop_reason.value == "completed", result.error

    asyncio.run(main())


def _count(variant: str, runs: int) -> int:
    cmd = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "benchmarks.profiling.instructions",
        "--child",
        variant,
        str(runs),
    ]
    out = subprocess.run(cmd, cwd=_ROOT, capture_output=True, text=True, timeout=900)
    found = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    if out.returncode != 0 or found is None:
        raise RuntimeError(f"{variant}: valgrind run failed:\n{out.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main(variants: list[str]) -> None:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (e.g. apt-get install valgrind)")
    for variant in variants or ["baseline"]:
        small, large = _count(variant, _SMALL), _count(variant, _LARGE)
        per_run = (large - small) / (_LARGE - _SMALL)
        print(f"{variant:32} {per_run / 1e6:7.3f} M instructions per run", flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(set(sys.argv[2].split("+")), int(sys.argv[3]))
    else:
        os.environ.setdefault("PYTHONHASHSEED", "0")  # the same dict layouts each time
        main(sys.argv[1:])
