"""Fuzzy "does this text contain that claim" for blame.

Text is normalized to lowercase words (runs of letters and digits), so case,
spacing and punctuation never matter. A claim is contained in a text when its
normalized form occurs in the text's (score 1.0); otherwise its score is the
share of the claim's word trigrams that occur in the text. A score of at least
`MATCH_THRESHOLD` counts as a match.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["MATCH_THRESHOLD", "MIN_CLAIM_WORDS", "Normalized", "claims", "normalize", "score"]

#: Share of a claim's word trigrams a text must contain to count as a match.
MATCH_THRESHOLD = 0.6
#: Claims shorter than this many words are not traced (too common to attribute).
MIN_CLAIM_WORDS = 3

_WORD = re.compile(r"\w+")
_SPLIT = re.compile(r"(?<=[.!?;])\s+|\n+")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)]|#+)\s*")


@dataclass(frozen=True, slots=True)
class Normalized:
    """A text as words, joined words, and word trigrams."""

    words: tuple[str, ...]
    joined: str
    trigrams: frozenset[tuple[str, ...]]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def normalize(text: str) -> Normalized:
    """`text` as lowercase words; JSON text is read for its string values first."""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        with contextlib.suppress(ValueError):
            text = "\n".join(_strings(json.loads(stripped)))
    words = tuple(_WORD.findall(text.lower()))
    grams = frozenset(words[i : i + 3] for i in range(len(words) - 2))
    return Normalized(words=words, joined=f" {' '.join(words)} ", trigrams=grams)


def score(claim: Normalized, text: Normalized) -> float:
    """How much of `claim` occurs in `text`: 1.0 when contained, else the trigram share."""
    if not claim.words:
        return 0.0
    if claim.joined in text.joined:
        return 1.0
    if not claim.trigrams:
        return 0.0
    return len(claim.trigrams & text.trigrams) / len(claim.trigrams)


def claims(text: str) -> list[str]:
    """The sentences / bullet points of `text` with at least `MIN_CLAIM_WORDS` words."""
    out: list[str] = []
    for part in _SPLIT.split(text):
        part = _BULLET.sub("", part).strip()
        if len(_WORD.findall(part)) >= MIN_CLAIM_WORDS and part not in out:
            out.append(part)
    return out
