"""Verification: deterministic verifiers and verdicts on blackboard entries and results."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from podium.errors import ConfigError

__all__ = [
    "Check",
    "CommandVerifier",
    "FileExistsVerifier",
    "JsonSchemaVerifier",
    "PredicateVerifier",
    "Verdict",
    "Verifier",
    "failing_evidence",
    "to_verdict",
]


class Verdict(BaseModel):
    """Whether a value passed a check, and why."""

    passed: bool
    reason: str = ""


@runtime_checkable
class Verifier(Protocol):
    """Checks a value; deterministic verifiers ship with podium, users add their own."""

    name: str

    async def verify(self, value: Any) -> Verdict:
        """Check `value`."""
        ...


def to_verdict(result: Any, default_reason: str = "") -> Verdict:
    """A verdict from what a check returned: a Verdict, a bool, feedback text or None.

    None and True pass; False fails; a non-empty string is the reason it failed.
    """
    if isinstance(result, Verdict):
        return result
    if result is None or result is True:
        return Verdict(passed=True, reason=default_reason or "passed")
    if result is False:
        return Verdict(passed=False, reason=default_reason or "the check returned False")
    if isinstance(result, str):
        return Verdict(passed=not result.strip(), reason=result.strip() or "passed")
    if isinstance(result, Mapping) and "passed" in result:
        return Verdict(passed=bool(result["passed"]), reason=str(result.get("reason", "")))
    raise ConfigError(f"a check returned {type(result).__name__}; return a bool, text or Verdict")


def _as_json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


@dataclass(frozen=True, slots=True)
class JsonSchemaVerifier:
    """Passes when the value (parsed as JSON if it is text) matches a JSON schema."""

    schema: dict[str, Any]
    name: str = "json_schema"

    async def verify(self, value: Any) -> Verdict:
        """Validate `value` against the schema."""
        try:
            import jsonschema
        except ImportError:  # pragma: no cover - depends on the install
            raise ConfigError("JSON-schema verifiers need `pip install jsonschema`") from None
        errors = sorted(
            jsonschema.Draft202012Validator(self.schema).iter_errors(_as_json(value)),
            key=lambda e: list(e.path),
        )
        if not errors:
            return Verdict(passed=True, reason="matches the JSON schema")
        where = "/".join(str(p) for p in errors[0].path) or "(root)"
        return Verdict(passed=False, reason=f"{where}: {errors[0].message}")


@dataclass(frozen=True, slots=True)
class PredicateVerifier:
    """Passes when a Python callable says so (bool, feedback text, or Verdict)."""

    fn: Callable[[Any], Any | Awaitable[Any]]
    name: str = "predicate"

    async def verify(self, value: Any) -> Verdict:
        """Call the predicate."""
        result = self.fn(value)
        if inspect.isawaitable(result):
            result = await result
        return to_verdict(result)


@dataclass(frozen=True, slots=True)
class CommandVerifier:
    """Passes when a shell command exits 0; the value is given on its standard input."""

    command: str
    cwd: str | None = None
    timeout: float = 120.0
    name: str = "command"

    async def verify(self, value: Any) -> Verdict:
        """Run the command."""
        text = value if isinstance(value, str) else json.dumps(_as_json(value), default=str)
        proc = await asyncio.create_subprocess_shell(
            self.command,
            cwd=self.cwd,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(text.encode()), self.timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return Verdict(
                passed=False, reason=f"`{self.command}` timed out after {self.timeout:g}s"
            )
        tail = out.decode(errors="replace").strip()[-500:]
        if proc.returncode == 0:
            return Verdict(passed=True, reason=f"`{self.command}` exited 0")
        return Verdict(passed=False, reason=f"`{self.command}` exited {proc.returncode}: {tail}")


@dataclass(frozen=True, slots=True)
class FileExistsVerifier:
    """Passes when a file exists (e.g. a report the team had to write)."""

    path: str
    name: str = "file_exists"

    async def verify(self, value: Any) -> Verdict:
        """Check the file."""
        if await asyncio.to_thread(Path(self.path).is_file):
            return Verdict(passed=True, reason=f"{self.path} exists")
        return Verdict(passed=False, reason=f"{self.path} does not exist")


@dataclass(frozen=True, slots=True)
class Check:
    """A verifier applied to the run's final output or to a blackboard entry.

    Args:
        verifier: what checks the value.
        target: ``"final"`` for the run's output, else a blackboard key.
        required: a run cannot end ``completed`` unless this check ran and passed.
    """

    verifier: Verifier
    target: str = "final"
    required: bool = True


_FAIL_FLAGS = ("passed", "ok", "success", "succeeded")
_EXIT_CODES = ("exit_code", "returncode", "exit_status")


def failing_evidence(value: Any) -> str | None:
    """Why a tool result says something failed, or None.

    Recognized: a non-zero ``exit_code``/``returncode``; ``passed``/``ok``/
    ``success`` set to false; an exception.
    """
    if isinstance(value, BaseException):
        return f"raised {type(value).__name__}: {value}"
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if not isinstance(value, Mapping):
        return None
    for key in _EXIT_CODES:
        code = value.get(key)
        if isinstance(code, int) and not isinstance(code, bool) and code != 0:
            return f"{key} was {code}"
    for key in _FAIL_FLAGS:
        if value.get(key) is False:
            return f"{key} was false"
    return None
