"""The blackboard: a run's shared memory, with provenance, status and versions."""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from pydantic_core import to_jsonable_python

from podium.errors import BlackboardConflict, BlackboardError

__all__ = ["Blackboard", "Entry", "EntryStatus", "json_default", "render_entries"]


def json_default(value: Any) -> Any:
    """``json.dumps``'s `default`: pydantic models, enums, dates, ... as JSON, else ``str``."""
    try:
        return to_jsonable_python(value, serialize_unknown=True)
    except ValueError:  # e.g. bytes that are not UTF-8
        return str(value)


class EntryStatus(StrEnum):
    """Whether an entry has been checked."""

    UNVERIFIED = "unverified"
    VERIFIED = "verified"
    REFUTED = "refuted"


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One version of a blackboard entry.

    Attributes:
        key: the entry's name.
        value: text, or any JSON-able value.
        author: the agent (or team) that wrote it.
        step: the step path where it was written.
        sources: keys this entry was derived from.
        status: verification status.
        version: 1 for the first write of the key, then 2, 3, ...
        reason: why the status was set (for verified / refuted entries).
        written_at: wall-clock time of the write.
    """

    key: str
    value: Any
    author: str
    step: str
    sources: tuple[str, ...] = ()
    status: EntryStatus = EntryStatus.UNVERIFIED
    version: int = 1
    reason: str | None = None
    written_at: float = field(default_factory=time.time)

    def text(self) -> str:
        """The value as prompt text."""
        if isinstance(self.value, str):
            return self.value
        if hasattr(self.value, "model_dump_json"):
            return str(self.value.model_dump_json())
        return json.dumps(self.value, ensure_ascii=False, default=json_default)


_ENTRY_SETTERS = tuple(
    Entry.__dict__[name].__set__
    for name in ("key", "value", "author", "step", "sources", "status", "version", "reason")
)
_set_written_at = Entry.__dict__["written_at"].__set__


def _new_entry(
    key: str, value: Any, author: str, step: str, sources: tuple[str, ...], version: int
) -> Entry:
    """A new unverified `Entry`, built faster than by its keyword ``__init__``.

    Every subtask writes one; tests/test_events.py checks that both agree.
    """
    entry: Entry = object.__new__(Entry)
    fields = (key, value, author, step, sources, EntryStatus.UNVERIFIED, version, None)
    for setter, field_value in zip(_ENTRY_SETTERS, fields, strict=True):
        setter(entry, field_value)
    _set_written_at(entry, time.time())
    return entry


def render_entries(entries: Iterable[Entry], limit: int = 8_000) -> str:
    """Entries as compact prompt text: key, author, status, then the value."""
    blocks = []
    for e in entries:
        value = e.text()
        if len(value) > limit:
            value = value[:limit] + f"\n[... truncated by podium: {len(value)} characters]"
        origin = f"by {e.author}, v{e.version}, {e.status}"
        if e.sources:
            origin += f", from {', '.join(e.sources)}"
        blocks.append(f"### {e.key} ({origin})\n{value}")
    return "\n\n".join(blocks)


class Blackboard:
    """Per-run shared memory. Every write keeps the older versions.

    The engine records every write and status change in the run log; this object
    is the in-memory view of those events.
    """

    def __init__(self) -> None:
        self._history: dict[str, list[Entry]] = {}
        self.writes = 0  # how many writes so far (loop detectors watch it)

    def get(self, key: str) -> Entry | None:
        """The latest version of `key`, or None."""
        versions = self._history.get(key)
        return versions[-1] if versions else None

    def history(self, key: str) -> list[Entry]:
        """Every version of `key`, oldest first."""
        return list(self._history.get(key, []))

    def keys(self) -> list[str]:
        """Keys in first-write order."""
        return list(self._history)

    def __contains__(self, key: object) -> bool:
        return key in self._history

    def __len__(self) -> int:
        return len(self._history)

    def write(
        self,
        key: str,
        value: Any,
        *,
        author: str,
        step: str,
        allowed: Collection[str] | None = None,
        sources: Iterable[str] = (),
        expected_version: int | None = None,
    ) -> Entry:
        """Write a new version of `key`.

        Args:
            key: the entry's name.
            value: its new value.
            author: who writes.
            step: the step path of the write.
            allowed: the keys `author` declared in `writes`; None skips the check.
            sources: keys the value was derived from.
            expected_version: compare-and-set: the version the writer based its
                value on (0 for "the key must not exist yet"); None to append.

        Raises:
            BlackboardError: `key` is not among `allowed`, or a source is unknown.
            BlackboardConflict: the current version is not `expected_version`.
        """
        if allowed is not None and key not in allowed:
            declared = ", ".join(sorted(allowed)) or "none"
            raise BlackboardError(
                f"agent {author} may not write blackboard key {key!r} (step {step}); "
                f"its declared writes are: {declared}. Add {key!r} to its `writes`."
            )
        sources = tuple(dict.fromkeys(sources))
        unknown = [s for s in sources if s not in self._history and s != key]
        if unknown:
            raise BlackboardError(
                f"agent {author} (step {step}) cites unknown source key(s) {unknown} for {key!r}"
            )
        current = self.get(key)
        version = current.version if current is not None else 0
        if expected_version is not None and expected_version != version:
            raise BlackboardConflict(
                f"agent {author} (step {step}) wrote {key!r} based on version "
                f"{expected_version}, but it is now at version {version} "
                f"(written by {current.author if current else '?'}); re-read and retry"
            )
        entry = _new_entry(key, value, author, step, sources, version + 1)
        self._history.setdefault(key, []).append(entry)
        self.writes += 1
        return entry

    def set_status(self, key: str, status: EntryStatus, *, reason: str, by: str) -> Entry:
        """Mark the latest version of `key` verified or refuted (kept in its history)."""
        current = self.get(key)
        if current is None:
            raise BlackboardError(f"{by} cannot set the status of {key!r}: no such entry")
        updated = replace(current, status=status, reason=f"{by}: {reason}")
        self._history[key][-1] = updated
        return updated

    def select(self, keys: Iterable[str], *, verified_only: bool = False) -> list[Entry]:
        """The latest entries for `keys` that exist (verified ones only, if asked)."""
        out = []
        for key in keys:
            entry = self.get(key)
            if entry is None:
                continue
            if verified_only and entry.status is not EntryStatus.VERIFIED:
                continue
            out.append(entry)
        return out

    def lineage(self, key: str) -> list[Entry]:
        """`key`'s latest entry and, transitively, the entries it was derived from."""
        seen: dict[str, Entry] = {}
        stack = [key]
        while stack:
            k = stack.pop()
            entry = self.get(k)
            if entry is None or k in seen:
                continue
            seen[k] = entry
            stack.extend(entry.sources)
        return list(seen.values())
