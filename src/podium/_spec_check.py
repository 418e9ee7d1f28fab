"""Spec checks: field rules, errors with positions, tool import paths to `Tool`s.

Private helpers of `podium.spec`: annotated field types (model strings, names,
tool paths) with plain-spoken errors; a `Locator` that turns a path in the YAML
document into file:line:column; `validation_error`, which picks the first
pydantic error and says it plainly; and `import_tool`, which imports
``package.module:attr`` with the spec's folder on ``sys.path``.
"""

from __future__ import annotations

import difflib
import importlib
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, ValidationError

from podium._yaml import Document, Mark, YamlPath, dotted
from podium.errors import ConfigError, SpecError
from podium.models._resolve import PROVIDERS
from podium.registry import suggest
from podium.tools._tool import Tool, tool

__all__ = [
    "SPEC_VERSION",
    "AgentName",
    "InputName",
    "Locator",
    "ModelName",
    "SpecVersion",
    "ToolImportError",
    "ToolPath",
    "check_model_name",
    "import_agent_tools",
    "import_tool",
    "validation_error",
]

SPEC_VERSION = 1
"""The spec format version this podium reads."""
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_INPUT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOOL_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def check_model_name(value: str) -> str:
    """`value` if it is ``provider:name`` with a known provider; ValueError otherwise."""
    provider, sep, name = value.partition(":")
    if sep and name.strip() and provider.strip().lower() in PROVIDERS:
        return value
    close = ""
    if sep and name.strip():
        match = difflib.get_close_matches(provider.strip().lower(), PROVIDERS, n=1)
        close = f" (did you mean '{match[0]}:{name.strip()}'?)" if match else ""
    raise ValueError(
        f"unknown model {value!r}{close}: use 'provider:name' with provider one of "
        f"{', '.join(PROVIDERS)} (e.g. 'openai:gpt-4o-mini')"
    )


def _check_agent_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"name {value!r} must be letters, digits, '-' or '_'")
    return value


def _check_input_name(value: str) -> str:
    if not _INPUT.fullmatch(value):
        raise ValueError(f"input name {value!r} must be letters, digits or '_', not first a digit")
    return value


def _check_tool_path(value: str) -> str:
    if not _TOOL_PATH.fullmatch(value):
        raise ValueError(
            f"tool import path must look like 'package.module:function', not {value!r}"
        )
    return value


def _check_version(value: int) -> int:
    if value != SPEC_VERSION:
        raise ValueError(f"unsupported spec version {value}; this podium reads version 1")
    return value


ModelName = Annotated[str, AfterValidator(check_model_name)]
AgentName = Annotated[str, AfterValidator(_check_agent_name)]
InputName = Annotated[str, AfterValidator(_check_input_name)]
ToolPath = Annotated[str, AfterValidator(_check_tool_path)]
SpecVersion = Annotated[int, AfterValidator(_check_version)]


_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
}


@dataclass(frozen=True, slots=True)
class Locator:
    """Makes `SpecError`s that point into one spec file."""

    filename: str
    doc: Document | None = None

    def mark(self, path: YamlPath, *, at_key: bool = False) -> Mark | None:
        """Where the value (or the key) at `path` was written, when known."""
        if self.doc is None:
            return None
        return (self.doc.keys if at_key else self.doc.values).get(path)

    def error(
        self, message: str, path: YamlPath, *, at_key: bool = False, key: str | None = None
    ) -> SpecError:
        """A SpecError at `path`; `key` defaults to the dotted path."""
        mark = self.mark(path, at_key=at_key)
        return SpecError(
            message,
            file=self.filename,
            line=mark.line if mark else None,
            column=mark.column if mark else None,
            key=key if key is not None else (dotted(path) or None),
        )


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(err: Any) -> str:
    kind = err["type"]
    if kind in _EXPECTED:
        text = f"expected {_EXPECTED[kind]}, got {_show(err['input'])}"
        if kind == "string_type" and isinstance(err["input"], bool | int | float):
            text += " (YAML reads yes/no/on/off and numbers as such; quote text)"
        return text
    msg = str(err["msg"])
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    return msg[:1].lower() + msg[1:]


def _walk(data: Any, loc: tuple[int | str, ...]) -> tuple[YamlPath, bool]:
    """The document path a pydantic `loc` refers to, and whether it means the key."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if part == "[key]":
            return tuple(path), True
        in_dict = isinstance(node, dict) and isinstance(part, str) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_dict or in_list):  # a union tag, a validator name, or a missing key
            continue
        node = node[part]
        path.append(part)
    return tuple(path), False


def _one(
    err: Any, where: Locator, data: Any, keys_at: Callable[[YamlPath], Iterable[str]]
) -> SpecError:
    kind = err["type"]
    path, at_key = _walk(data, err["loc"])
    here = dotted(path) or "the spec"
    if kind == "missing":
        name = str(err["loc"][-1])
        return where.error(
            f"missing required key {name!r} in {here}", path, key=dotted((*path, name))
        )
    if kind == "union_tag_not_found":
        return where.error(
            f"missing required key 'pattern' in {here}", path, key=dotted((*path, "pattern"))
        )
    if kind == "union_tag_invalid":
        tag = str(err["ctx"]["tag"])
        expected = str(err["ctx"]["expected_tags"])
        known = expected.replace("'", "").split(", ")
        return where.error(
            f"{dotted((*path, 'pattern'))}: unknown pattern {tag!r}"
            f"{suggest(tag, known)}; expected {expected}",
            (*path, "pattern"),
        )
    if kind == "extra_forbidden":
        name, parent = str(path[-1]), path[:-1]
        return where.error(
            f"unknown key {name!r} in {dotted(parent) or 'the spec'}"
            f"{suggest(name, keys_at(parent))}",
            path,
            at_key=True,
        )
    return where.error(f"{here}: {_describe(err)}", path, at_key=at_key)


def validation_error(
    exc: ValidationError,
    where: Locator,
    data: Any,
    keys_at: Callable[[YamlPath], Iterable[str]],
) -> SpecError:
    """The first of `exc`'s errors in file order, as a SpecError.

    Args:
        exc: pydantic's error for `data`.
        where: the spec file and its positions.
        data: the validated document data.
        keys_at: the keys allowed in the mapping at a path (for typo suggestions).
    """
    found = [_one(err, where, data, keys_at) for err in exc.errors(include_url=False)]
    # A wrong value says more than a missing key; among equals, the first in the file.
    return min(
        found,
        key=lambda e: (e.message.startswith("missing"), e.line is None, e.line or 0, e.column or 0),
    )


class ToolImportError(Exception):
    """Why an import path does not give a tool (the message is the reason)."""


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
        raise ToolImportError(reason)
    with _on_path(directory):
        try:
            return importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
                where = "the spec's folder and sys.path" if directory else "sys.path"
                raise ToolImportError(
                    f"module {exc.name!r} not found (looked in {where})"
                ) from None
            raise ToolImportError(f"importing {module!r} failed: {exc}") from None
        except Exception as exc:  # the user's module is broken: say how
            raise ToolImportError(
                f"importing {module!r} failed: {type(exc).__name__}: {exc}"
            ) from None


def import_tool(path: str, directory: Path | None) -> Tool:
    """The tool named by ``package.module:attr``; a plain callable is wrapped with `tool`.

    Args:
        path: the import path, already checked to look like ``module:attr``.
        directory: the spec's folder, put first on ``sys.path`` while importing.

    Raises:
        ToolImportError: the module or attribute is missing, or is not a tool.
    """
    module_name, _, attr = path.partition(":")
    obj = _import_module(module_name, directory)
    done: list[str] = []
    for part in attr.split("."):
        if not hasattr(obj, part):
            holder = repr(f"{module_name}:{'.'.join(done)}") if done else f"module {module_name!r}"
            public = [n for n in dir(obj) if not n.startswith("_")]
            raise ToolImportError(f"{holder} has no attribute {part!r}{suggest(part, public)}")
        obj = getattr(obj, part)
        done.append(part)
    if isinstance(obj, Tool):
        return obj
    if not callable(obj):
        raise ToolImportError(f"{attr!r} is {type(obj).__name__}, not a function or podium.Tool")
    try:
        return tool(obj)
    except ConfigError as exc:
        raise ToolImportError(f"it cannot be a tool: {exc}") from None


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
            try:
                loaded = import_tool(tool_path, directory)
            except ToolImportError as exc:
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
