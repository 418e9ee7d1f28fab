"""Secret redaction, applied before anything is stored, logged or exported.

Three sources of secrets:

- provider-key shapes (``sk-...``, ``sk-ant-...``, bearer tokens, AWS key ids, ...);
- the values of secret environment variables: every variable whose name ends in
  ``_API_KEY``, ``_TOKEN``, ``_SECRET`` or ``_PASSWORD``, plus those listed in
  ``PODIUM_SECRET_ENV`` (comma-separated names);
- patterns and literal values the user adds.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["REDACTED", "Redactor", "default_redactor"]

REDACTED = "[REDACTED]"

_KEY_SHAPES = (
    r"sk-ant-[A-Za-z0-9_\-]{16,}",
    r"sk-(?:proj-|svcacct-)?[A-Za-z0-9_\-]{20,}",
    r"(?i:bearer)\s+[A-Za-z0-9._\-]{16,}",
    r"AKIA[0-9A-Z]{16}",
    r"gh[pousr]_[A-Za-z0-9]{30,}",
    r"xox[baprs]-[A-Za-z0-9\-]{10,}",
    r"AIza[0-9A-Za-z_\-]{35}",
    r"github_pat_[A-Za-z0-9_]{22,}",
    r"glpat-[A-Za-z0-9_\-]{20,}",
    r"[sr]k_live_[A-Za-z0-9]{20,}",
    r"hf_[A-Za-z0-9]{30,}",
)
#: Fixed fragments every key shape contains; `in` finds them at C speed.
_FRAGMENTS = (
    "sk-",
    "earer",
    "EARER",
    "AKIA",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "xox",
    "AIza",
    "github_pat_",
    "glpat-",
    "k_live_",
    "hf_",
)
_SECRET_NAMES = re.compile(r"(_API_KEY|_TOKEN|_SECRET|_PASSWORD|_PASSWD|APIKEY)$", re.I)
_MIN_SECRET_LEN = 6  # shorter values would redact ordinary words


_SCALARS = frozenset({int, float, bool, type(None)})
#: Clean texts remembered per redactor, in characters, before the memory is cleared.
_CLEAN_MEMORY_CHARS = 4_000_000


class Redactor:
    """Replaces secrets in text and in nested JSON-like values.

    Args:
        values: literal secret values.
        patterns: regular expressions whose matches are secrets.
        key_shapes: also match well-known provider key shapes.
    """

    def __init__(
        self,
        values: Iterable[str] = (),
        patterns: Iterable[str] = (),
        *,
        key_shapes: bool = True,
    ) -> None:
        literal = sorted(
            {v for v in values if v and len(v) >= _MIN_SECRET_LEN}, key=len, reverse=True
        )
        parts = [re.escape(v) for v in literal] + list(patterns)
        if key_shapes:
            parts += list(_KEY_SHAPES)
        self._regex = re.compile("|".join(f"(?:{p})" for p in parts)) if parts else None
        # A cheap test first: literal secrets by substring, key shapes by their
        # fixed prefixes; the full expression runs only on text that might match.
        self._literals = tuple(literal) + (_FRAGMENTS if key_shapes else ())
        self._user_patterns = bool(list(patterns))
        # texts already found clean: the same output reaches several events (the
        # model's answer, the agent's end, the blackboard, the next prompt), and
        # system prompts repeat on every call; each is scanned once
        self._clean: dict[str, None] = {}
        self._clean_chars = 0

    def might_contain_obj(self, value: Any) -> bool:
        """A fast test: False means no string in `value` holds a secret (a hot path).

        `value` is a string or a JSON-like container (an event's payload); nested
        containers are walked by calling this again.
        """
        if self._regex is None:
            return False
        if self._user_patterns:
            return True
        kind = type(value)
        if kind is dict:
            items = value.values()
        elif kind is list or kind is tuple:
            items = value
        elif isinstance(value, str):
            return self._maybe_new(str(value))
        else:
            items = value.values() if isinstance(value, dict) else value
        clean = self._clean
        for item in items:
            kind = type(item)
            if kind is str:
                if item not in clean and self._maybe_new(item):
                    return True
            elif kind in _SCALARS:
                continue
            elif kind is dict or kind is list or kind is tuple:
                if item and self.might_contain_obj(item):
                    return True
            elif isinstance(item, str):
                if self._maybe_new(str(item)):
                    return True
            elif isinstance(item, dict | list | tuple) and self.might_contain_obj(item):
                return True
        return False

    def _maybe_new(self, text: str) -> bool:
        """`_maybe`, remembering clean texts so that each is scanned once."""
        if text in self._clean:
            return False
        if len(text) >= 3 and self._maybe(text):  # every fragment is 3+ characters
            return True
        if self._clean_chars > _CLEAN_MEMORY_CHARS:
            self._clean.clear()
            self._clean_chars = 0
        self._clean[text] = None
        self._clean_chars += len(text) + 1  # short texts count too: the memory is bounded
        return False

    def _maybe(self, text: str) -> bool:
        if self._user_patterns:
            return True
        for fragment in self._literals:  # noqa: SIM110 - a plain loop beats any() here
            if fragment in text:
                return True
        return False

    def scrub(self, text: str) -> str:
        """`text` with every secret replaced by ``[REDACTED]``."""
        if self._regex is None or not text or text in self._clean or not self._maybe(text):
            return text  # (texts in _clean were found free of every fragment already)
        return self._regex.sub(REDACTED, text)

    def scrub_obj(self, value: Any) -> Any:
        """A copy of a JSON-like value (dicts, lists, strings) with secrets replaced.

        Values without secrets are returned as they are (not copied).
        """
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            out = None
            for k, v in value.items():
                new = self.scrub_obj(v) if isinstance(v, str | dict | list | tuple) else v
                if new is not v:
                    if out is None:
                        out = dict(value)
                    out[k] = new
            return value if out is None else out
        if isinstance(value, list | tuple):
            items = [self.scrub_obj(v) for v in value]
            if all(a is b for a, b in zip(items, value, strict=True)):
                return value
            return items
        return value


def secret_env_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of the environment variables that hold secrets."""
    env = os.environ if environ is None else environ
    named = {n.strip() for n in env.get("PODIUM_SECRET_ENV", "").split(",") if n.strip()}
    return [v for k, v in env.items() if v and (k in named or _SECRET_NAMES.search(k))]


_cache: tuple[dict[Any, Any], Redactor] | None = None


def default_redactor(
    extra_values: Iterable[str] = (), extra_patterns: Iterable[str] = ()
) -> Redactor:
    """Key shapes + secret environment variables + ``PODIUM_REDACT`` patterns + extras.

    ``PODIUM_REDACT`` holds extra regular expressions separated by newlines. The
    result is cached until the relevant environment changes.
    """
    global _cache
    env = os.environ
    extra_values, extra_patterns = tuple(extra_values), tuple(extra_patterns)
    raw = getattr(env, "_data", None)  # the undecoded dict: a cheap change detector
    current = raw if isinstance(raw, dict) else dict(env.items())
    plain = not extra_values and not extra_patterns
    if plain and _cache is not None and _cache[0] == current:  # compared at C speed
        return _cache[1]
    env_patterns = [p for p in env.get("PODIUM_REDACT", "").splitlines() if p.strip()]
    redactor = Redactor([*secret_env_values(), *extra_values], [*env_patterns, *extra_patterns])
    if plain:
        _cache = (dict(current), redactor)  # a copy: the environment's own dict changes
    return redactor
