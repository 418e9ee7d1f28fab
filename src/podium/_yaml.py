"""A safe, position-aware YAML loader for spec files.

PyYAML composes the node tree (which carries line and column marks); this module
turns it into plain Python values itself, so that it can:

- remember where every value and every mapping key was written, by path
  (``("agents", "researcher", "tools", 0)``), to point errors at file:line:column;
- accept only the standard tags (strings, numbers, booleans, null, lists,
  mappings, merge keys) and refuse everything else, ``!!python/...`` included;
- refuse duplicate keys, oversized files, deep nesting and alias bombs (the
  number of nodes visited, alias expansions included, is capped).

Every problem raises a `SpecError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from podium.errors import SpecError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "Document", "Mark", "YamlPath", "dotted"]

MAX_BYTES = 1 << 20
"""Largest spec file accepted (1 MiB)."""
MAX_NODES = 100_000
"""Most YAML nodes visited while converting, alias expansions included."""
MAX_DEPTH = 64
"""Deepest nesting of lists and mappings accepted."""

YamlPath = tuple[str | int, ...]

_STD = "tag:yaml.org,2002:"
_MERGE = _STD + "merge"
_SAFE = SafeConstructor()
_SCALARS: dict[str, Callable[[ScalarNode], Any]] = {
    _STD + "str": lambda node: node.value,
    _STD + "timestamp": lambda node: node.value,  # kept as written
    _STD + "null": lambda node: None,
    _STD + "bool": _SAFE.construct_yaml_bool,
    _STD + "int": _SAFE.construct_yaml_int,
    _STD + "float": _SAFE.construct_yaml_float,
}


_HINTS = {
    "'\\t'": " (indent with spaces, not tabs)",
    "expected <block end>": " (check the indentation)",
    "mapping values are not allowed": " (check the indentation, or quote a value with ': ')",
}


@dataclass(frozen=True, slots=True)
class Mark:
    """A 1-based line and column in the spec file."""

    line: int
    column: int


@dataclass(slots=True)
class Document:
    """A loaded YAML document: its data and where each part of it was written.

    Attributes:
        data: the plain Python value (dicts, lists, str, int, float, bool, None).
        values: path -> where the value at that path starts.
        keys: path -> where the mapping key naming that path is.
    """

    data: Any
    values: dict[YamlPath, Mark] = field(default_factory=dict)
    keys: dict[YamlPath, Mark] = field(default_factory=dict)

    @classmethod
    def load(cls, text: str, filename: str) -> Document:
        """Parse `text` (the contents of `filename`) safely; SpecError on any problem."""
        if len(text) > MAX_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
            raise SpecError(f"the spec is larger than {MAX_BYTES // 1024} KiB", file=filename)
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            raise _syntax_error(exc, text, filename) from None
        except RecursionError:  # PyYAML's composer recurses once per nesting level
            raise SpecError(
                f"the spec is nested more than {MAX_DEPTH} levels deep", file=filename
            ) from None
        if root is None:
            raise SpecError(
                "the spec is empty; expected a mapping with version, name, agents and team",
                file=filename,
                line=1,
                column=1,
            )
        doc = cls(data=None)
        doc.data = _Converter(doc, filename).convert(root, ())
        return doc


def read_text(path: Path) -> str:
    """The text of the spec at `path`, refusing large or non-UTF-8 files before parsing."""
    filename = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise SpecError(
                f"the spec is {size} bytes, larger than {MAX_BYTES // 1024} KiB", file=filename
            )
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise SpecError(f"cannot read the spec: {exc.strerror or exc}", file=filename) from None
    if len(data) > MAX_BYTES:
        raise SpecError(f"the spec is larger than {MAX_BYTES // 1024} KiB", file=filename)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"the spec is not UTF-8 text (bad byte at offset {exc.start})", file=filename
        ) from None


def dotted(path: YamlPath) -> str:
    """``agents.researcher.tools[0]`` for ``("agents", "researcher", "tools", 0)``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.replace("_", "").replace("-", "").isalnum():
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def _mark(node: Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_STD) :] if tag.startswith(_STD) else tag


def _syntax_error(exc: yaml.YAMLError, text: str, filename: str) -> SpecError:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        problem = exc.problem or "syntax error"
        problem += next((hint for clue, hint in _HINTS.items() if clue in problem), "")
        if exc.context and exc.context_mark is not None:
            where = exc.context_mark
            problem += f" ({exc.context} at line {where.line + 1}, column {where.column + 1})"
        return SpecError(
            f"invalid YAML: {problem}", file=filename, line=mark.line + 1, column=mark.column + 1
        )
    if isinstance(exc, yaml.reader.ReaderError):
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        before = text[: exc.position]
        line = before.count("\n") + 1
        column = exc.position - (before.rfind("\n") + 1) + 1
        return SpecError(
            f"invalid YAML: control character U+{char:04X} is not allowed",
            file=filename,
            line=line,
            column=column,
        )
    return SpecError(f"invalid YAML: {exc}", file=filename)


class _Converter:
    """Node tree -> Python values, recording marks and enforcing the limits."""

    def __init__(self, doc: Document, filename: str) -> None:
        self.doc = doc
        self.filename = filename
        self.visited = 0
        self.active: set[int] = set()

    def error(self, message: str, node: Node, path: YamlPath) -> SpecError:
        mark = _mark(node)
        return SpecError(
            message, file=self.filename, line=mark.line, column=mark.column, key=dotted(path)
        )

    def convert(self, node: Node, path: YamlPath) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise self.error(
                f"the spec expands to more than {MAX_NODES} YAML nodes "
                "(too many aliases? refusing to load it)",
                node,
                path,
            )
        if len(path) > MAX_DEPTH:
            raise self.error(f"the spec is nested more than {MAX_DEPTH} levels deep", node, path)
        self.doc.values.setdefault(path, _mark(node))
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if id(node) in self.active:
            raise self.error("an alias refers to a node that contains it", node, path)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode) and node.tag == _STD + "seq":
                return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode) and node.tag == _STD + "map":
                return self.mapping(node, path)
        finally:
            self.active.discard(id(node))
        raise self.unsupported(node, path)

    def unsupported(self, node: Node, path: YamlPath) -> SpecError:
        return self.error(
            f"{dotted(path) or 'the spec'}: unsupported YAML tag {_short_tag(node.tag)!r}; "
            "a spec holds only strings, "
            "numbers, booleans, null, lists and mappings",
            node,
            path,
        )

    def scalar(self, node: ScalarNode, path: YamlPath) -> Any:
        construct = _SCALARS.get(node.tag)
        if construct is None:
            raise self.unsupported(node, path)
        try:
            return construct(node)
        except ValueError:
            raise self.error(
                f"{dotted(path) or 'the spec'}: {node.value!r} "
                f"is not a valid {_short_tag(node.tag)}",
                node,
                path,
            ) from None

    def key(self, node: Node, path: YamlPath) -> str:
        if not isinstance(node, ScalarNode):
            raise self.error(
                f"a key in {dotted(path) or 'the spec'} is not a plain string", node, path
            )
        if node.tag not in _SCALARS:
            raise self.unsupported(node, path)
        return str(node.value)

    def mapping(self, node: MappingNode, path: YamlPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append(value_node)
                continue
            key = self.key(key_node, path)
            if key in out:
                first = self.doc.keys[(*path, key)]
                raise self.error(
                    f"duplicate key {key!r} in {dotted(path) or 'the spec'} "
                    f"(first at line {first.line})",
                    key_node,
                    (*path, key),
                )
            self.doc.keys.setdefault((*path, key), _mark(key_node))  # merged keys come after
            out[key] = self.convert(value_node, (*path, key))
        for source in merges:
            # Explicit keys win over merged ones; earlier merge sources win over later ones.
            items = source.value if isinstance(source, SequenceNode) else [source]
            for item in items:
                merged = self.convert(item, path)
                if not isinstance(merged, dict):
                    raise self.error(
                        "a merge key '<<' needs a mapping or a list of them", item, path
                    )
                for key, value in merged.items():
                    out.setdefault(key, value)
        return out
