"""Spec checks: field rules and errors with positions.

Private helpers of `podium.spec`: the base of every spec model, annotated field
types (model strings, names, import paths, blackboard keys) with plain-spoken
errors; a `Locator` that turns a path in the YAML document into
file:line:column; and `validation_error`, which picks the first pydantic error
and says it plainly. Importing the code a spec names is `podium._spec_imports`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from podium._yaml import Document, Mark, YamlPath, dotted
from podium.errors import SpecError
from podium.models._resolve import PROVIDERS
from podium.registry import suggest

__all__ = [
    "ROUND_ROBIN",
    "SPEC_VERSION",
    "AgentName",
    "AtLeastOne",
    "BlackboardKey",
    "CallablePath",
    "InputName",
    "Locator",
    "ModelName",
    "ModelPath",
    "ReviewerName",
    "SelectorName",
    "SpecModel",
    "SpecVersion",
    "ToolPath",
    "check_model_name",
    "first_error",
    "use_short_form",
    "validation_error",
]

SPEC_VERSION = 1
"""The spec format version this podium reads."""
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_INPUT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_IMPORT_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/-]*")
ROUND_ROBIN = "round_robin"


class SpecModel(BaseModel):
    """Base of every spec model: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# numbers are strict throughout the spec: `true` (or `yes`) is an error, not 1
AtLeastOne = Annotated[int, Field(ge=1, strict=True)]


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
        raise ValueError(f"name {value!r} must be ASCII letters, digits, '-' or '_'")
    return value


def _check_input_name(value: str) -> str:
    if not _INPUT.fullmatch(value):
        raise ValueError(
            f"input name {value!r} must be ASCII letters, digits or '_', not first a digit"
        )
    return value


def _import_path(what: str, example: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not _IMPORT_PATH.fullmatch(value):
            raise ValueError(f"{what} import path must look like {example!r}, not {value!r}")
        return value

    return check


def _check_key(value: str) -> str:
    if not _KEY.fullmatch(value):
        raise ValueError(
            f"blackboard key {value!r} must be letters, digits, '_', '-', '.', ':' or '/'"
        )
    return value


def _check_selector(value: str) -> str:
    if value == ROUND_ROBIN or _IMPORT_PATH.fullmatch(value):
        return value
    raise ValueError(
        f"unknown selector {value!r}{suggest(value, [ROUND_ROBIN])}: use {ROUND_ROBIN!r}, "
        "an import path 'package.module:function' or {agent: NAME}"
    )


def _check_reviewer(value: str) -> str:
    if _NAME.fullmatch(value) or _IMPORT_PATH.fullmatch(value):
        return value
    raise ValueError(
        f"reviewer must be an agent name or an import path 'package.module:function', not {value!r}"
    )


def _check_version(value: int) -> int:
    if value != SPEC_VERSION:
        raise ValueError(f"unsupported spec version {value}; this podium reads version 1")
    return value


ModelName = Annotated[str, AfterValidator(check_model_name)]
AgentName = Annotated[str, AfterValidator(_check_agent_name)]
InputName = Annotated[str, AfterValidator(_check_input_name)]
ToolPath = Annotated[str, AfterValidator(_import_path("tool", "package.module:function"))]
CallablePath = Annotated[str, AfterValidator(_import_path("function", "package.module:function"))]
ModelPath = Annotated[str, AfterValidator(_import_path("model", "package.module:Model"))]
BlackboardKey = Annotated[str, AfterValidator(_check_key)]
SelectorName = Annotated[str, AfterValidator(_check_selector)]
ReviewerName = Annotated[str, AfterValidator(_check_reviewer)]
SpecVersion = Annotated[int, Field(strict=True), AfterValidator(_check_version)]


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


_BOUNDS = {
    "greater_than_equal": "at least",
    "greater_than": "more than",
    "less_than_equal": "at most",
    "less_than": "less than",
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

    def written(self, path: YamlPath) -> YamlPath:
        """`path`, shortened to the deepest part written in the file.

        A stage written as a plain name has no ``use`` key: an error about its
        ``use`` points at the name itself.
        """
        if self.doc is None:
            return path
        while path and path not in self.doc.values:
            path = path[:-1]
        return path

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
    if kind in _BOUNDS:
        limit = next(iter(err["ctx"].values()))
        shown = f"{limit:g}" if isinstance(limit, float) else limit
        return f"must be {_BOUNDS[kind]} {shown}, got {_show(err['input'])}"
    if kind == "too_short":
        need, got = err["ctx"]["min_length"], err["ctx"]["actual_length"]
        return f"needs at least {need} entr{'y' if need == 1 else 'ies'}, got {got}"
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


def first_error(errors: Iterable[SpecError]) -> SpecError | None:
    """The error written first in the file (errors without a position last), or None."""
    return min(errors, key=lambda e: (e.line is None, e.line or 0, e.column or 0), default=None)


def use_short_form(data: Any, expected: str) -> Any:
    """A bare name stands for ``{use: NAME}``; anything but a name or mapping is refused.

    `expected` describes the accepted forms in the error message.
    """
    if isinstance(data, str):
        return {"use": data}
    if not isinstance(data, dict):
        shown = "a list" if isinstance(data, list) else repr(data)
        raise ValueError(f"{expected}, not {shown}")
    return data
