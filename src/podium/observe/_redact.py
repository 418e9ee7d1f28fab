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
)
_SECRET_NAMES = re.compile(r"(_API_KEY|_TOKEN|_SECRET|_PASSWORD|_PASSWD|APIKEY)$", re.I)
_MIN_SECRET_LEN = 6  # shorter values would redact ordinary words


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

    def scrub(self, text: str) -> str:
        """`text` with every secret replaced by ``[REDACTED]``."""
        if self._regex is None or not text:
            return text
        return self._regex.sub(REDACTED, text)

    def scrub_obj(self, value: Any) -> Any:
        """A copy of a JSON-like value (dicts, lists, strings) with secrets replaced."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, Mapping):
            return {self.scrub(str(k)): self.scrub_obj(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub_obj(v) for v in value]
        return value


def secret_env_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of the environment variables that hold secrets."""
    env = os.environ if environ is None else environ
    named = {n.strip() for n in env.get("PODIUM_SECRET_ENV", "").split(",") if n.strip()}
    return [v for k, v in env.items() if v and (k in named or _SECRET_NAMES.search(k))]


def default_redactor(
    extra_values: Iterable[str] = (), extra_patterns: Iterable[str] = ()
) -> Redactor:
    """Key shapes + secret environment variables + ``PODIUM_REDACT`` patterns + extras.

    ``PODIUM_REDACT`` holds extra regular expressions separated by newlines.
    """
    env_patterns = [p for p in os.environ.get("PODIUM_REDACT", "").splitlines() if p.strip()]
    return Redactor([*secret_env_values(), *extra_values], [*env_patterns, *extra_patterns])
