"""Spec imports: the Python objects a spec names by ``package.module:attr``.

Private helpers of `podium.spec`. A spec names tools, stage checks, chat
selectors, terminate conditions and ``verify:`` predicates (functions), and
agents' ``output_type`` and ``handoff_input`` (pydantic models). Each is
imported with the spec's folder first on ``sys.path`` and checked for what it
must be; a failure is a `SpecError` at the import path's position.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from podium._spec_check import Locator
from podium._yaml import YamlPath, dotted
from podium.errors import ConfigError
from podium.registry import suggest
from podium.tools._tool import Tool, tool

__all__ = [
    "ImportKind",
    "ImportPathError",
    "import_agent_tools",
    "import_object",
    "import_tool",
    "load_object",
]

#: What an import path must give: a function taking 1 or 2 arguments, or a model.
ImportKind = Literal["check", "terminate", "selector", "reviewer", "predicate", "model"]

_ARITY: dict[str, tuple[int, str]] = {
    "check": (1, "the stage's output"),
    "terminate": (1, "the chat messages"),
    "selector": (2, "the chat messages and the participant names"),
    "reviewer": (2, "the subtask and its output"),
    "predicate": (1, "the value checked"),
}
_WHAT = {
    "check": "stage check",
    "terminate": "terminate function",
    "selector": "selector",
    "reviewer": "reviewer",
    "predicate": "predicate",
    "model": "model",
}


class ImportPathError(Exception):
    """Why an import path does not give what the spec needs (the message is the reason)."""


@contextmanager
def _on_path(directory: Path | None) -> Iterator[None]:
    if directory is None:
        yield
        return
    entry = str(directory)
    sys.path.insert(0, entry)
    importlib.invalidate_caches()  # files written moments ago must be seen
    try:
        yield
    finally:
        with suppress(ValueError):  # the imported code removed it already
            sys.path.remove(entry)


def _shadowing(module: str, directory: Path | None) -> str | None:
    """Why the spec folder's module `module` cannot be imported, if another is loaded."""
    top = module.split(".")[0]
    loaded = sys.modules.get(top)
    if directory is None or loaded is None:
        return None
    local = directory / f"{top}.py"
    if not local.is_file() and not (directory / top / "__init__.py").is_file():
        return None
    origin = getattr(loaded, "__file__", None)
    if origin and Path(origin).resolve().is_relative_to(directory.resolve()):
        return None
    return (
        f"a different module {top!r} is already imported (from {origin or 'a built-in'}); "
        f"rename the one in {directory}"
    )


def _import_module(module: str, directory: Path | None) -> Any:
    reason = _shadowing(module, directory)
    if reason:
        raise ImportPathError(reason)
    with _on_path(directory):
        try:
            return importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
                where = "the spec's folder and sys.path" if directory else "sys.path"
                raise ImportPathError(
                    f"module {exc.name!r} not found (looked in {where})"
                ) from None
            raise ImportPathError(f"importing {module!r} failed: {exc}") from None
        except Exception as exc:  # the user's module is broken: say how
            raise ImportPathError(
                f"importing {module!r} failed: {type(exc).__name__}: {exc}"
            ) from None
        except SystemExit as exc:  # e.g. a script's argparse reading podium's arguments
            raise ImportPathError(
                f"importing {module!r} failed: it called sys.exit({exc.code!r})"
            ) from None


def import_object(path: str, directory: Path | None) -> Any:
    """The object named by ``package.module:attr`` (`attr` may be dotted).

    Args:
        path: the import path, already checked to look like ``module:attr``.
        directory: the spec's folder, put first on ``sys.path`` while importing.

    Raises:
        ImportPathError: the module or attribute is missing.
    """
    module_name, _, attr = path.partition(":")
    obj = _import_module(module_name, directory)
    done: list[str] = []
    for part in attr.split("."):
        if not hasattr(obj, part):
            holder = repr(f"{module_name}:{'.'.join(done)}") if done else f"module {module_name!r}"
            public = [n for n in dir(obj) if not n.startswith("_")]
            raise ImportPathError(f"{holder} has no attribute {part!r}{suggest(part, public)}")
        obj = getattr(obj, part)
        done.append(part)
    return obj


def import_tool(path: str, directory: Path | None) -> Tool:
    """The tool named by ``package.module:attr``; a plain callable is wrapped with `tool`.

    Raises:
        ImportPathError: the module or attribute is missing, or is not a tool.
    """
    obj = import_object(path, directory)
    attr = path.partition(":")[2]
    if isinstance(obj, Tool):
        return obj
    if not callable(obj):
        raise ImportPathError(f"{attr!r} is {type(obj).__name__}, not a function or podium.Tool")
    try:
        return tool(obj)
    except ConfigError as exc:
        raise ImportPathError(f"it cannot be a tool: {exc}") from None


def _checked(obj: Any, attr: str, kind: ImportKind) -> Any:
    if kind == "model":
        if not (isinstance(obj, type) and issubclass(obj, BaseModel)):
            shown = obj.__name__ if isinstance(obj, type) else type(obj).__name__
            raise ImportPathError(f"{attr!r} is {shown}, not a pydantic model (a BaseModel class)")
        return obj
    arity, meaning = _ARITY[kind]
    if not callable(obj) or isinstance(obj, type):
        raise ImportPathError(f"{attr!r} is {type(obj).__name__}, not a function")
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):  # some builtins have none: trust them
        return obj
    try:
        signature.bind(*([None] * arity))
    except TypeError:
        plural = "s" if arity > 1 else ""
        raise ImportPathError(
            f"{attr!r} must take {arity} argument{plural} ({meaning}), "
            f"but its signature is {signature}"
        ) from None
    return obj


def load_object(
    path: YamlPath, value: str, kind: ImportKind, directory: Path | None, where: Locator
) -> Any:
    """Import `value` (written at `path`) and check it is a `kind`; SpecError otherwise."""
    try:
        return _checked(import_object(value, directory), value.partition(":")[2], kind)
    except ImportPathError as exc:
        raise where.error(
            f"{dotted(path)}: cannot import {_WHAT[kind]} {value!r}: {exc}", path
        ) from None


def import_agent_tools(
    agents: dict[str, list[str]], directory: Path | None, where: Locator
) -> dict[str, tuple[Tool, ...]]:
    """Import each agent's tool paths; SpecError at the first one that fails.

    Args:
        agents: agent name -> its tool import paths.
        directory: the spec's folder (first on ``sys.path`` while importing).
        where: the spec file, for error positions.
    """
    tools: dict[str, tuple[Tool, ...]] = {}
    for agent_name, paths in agents.items():
        found: dict[str, str] = {}
        loaded_tools: list[Tool] = []
        for i, tool_path in enumerate(paths):
            path: YamlPath = ("agents", agent_name, "tools", i)
            if where.doc is not None:  # a tool written as {use: ...} is reported at its `use`
                path = where.written((*path, "use"))
            try:
                loaded = import_tool(tool_path, directory)
            except ImportPathError as exc:
                raise where.error(
                    f"{dotted(path)}: cannot import tool {tool_path!r}: {exc}", path
                ) from None
            if loaded.name in found:
                raise where.error(
                    f"{dotted(path)}: {tool_path!r} is a second tool named {loaded.name!r} "
                    f"(the first is {found[loaded.name]!r})",
                    path,
                )
            found[loaded.name] = tool_path
            loaded_tools.append(loaded)
        tools[agent_name] = tuple(loaded_tools)
    return tools
