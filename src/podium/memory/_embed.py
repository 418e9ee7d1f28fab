"""Embedders: text → vectors for long-term memory.

`Embedder` is the extension point; `HashingEmbedder` is the offline default that
needs no model (good for tests, demos and keyword-ish recall), and
`MiniLMEmbedder` (in `_minilm`) is the real, local sentence-embedding model.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import unicodedata
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from podium.errors import ConfigError

__all__ = ["Embedder", "HashingEmbedder"]

_WORD = re.compile(r"\w+")
_EMPTY_FEATURE = "\x00empty"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into fixed-size vectors; similar meaning → nearby vectors.

    Attributes:
        dimension: the length of every vector `embed` returns. A memory collection
            remembers it and refuses an embedder of another dimension.
    """

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        ...

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order. Must not block the event loop."""
        ...


class HashingEmbedder:
    """Deterministic, offline bag-of-words embedder (feature hashing).

    Text is NFKC-normalized and lower-cased; word unigrams and bigrams are hashed
    (BLAKE2b, so results are stable across processes and machines) into
    `dimension` signed buckets and the vector is L2-normalized. Texts that share
    words are therefore close; there is no notion of synonyms — use
    `MiniLMEmbedder` for meaning.

    Args:
        dimension: vector length; more buckets mean fewer collisions.
        bigram_weight: weight of a word pair relative to a single word.
    """

    def __init__(self, dimension: int = 256, *, bigram_weight: float = 0.5) -> None:
        if dimension < 8:
            raise ConfigError(f"HashingEmbedder: dimension must be at least 8, not {dimension}")
        if bigram_weight < 0:
            raise ConfigError("HashingEmbedder: bigram_weight must not be negative")
        self._dimension = dimension
        self._bigram_weight = bigram_weight

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        return self._dimension

    def __repr__(self) -> str:
        return f"HashingEmbedder(dimension={self._dimension})"

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed `texts`; pure CPU work of microseconds per text, so done inline."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one string")
        return [self.embed_one(text) for text in texts]

    def embed_one(self, text: str) -> list[float]:
        """The vector of one text (synchronous; never all zeros)."""
        words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
        vector = [0.0] * self._dimension
        features = [(w, 1.0) for w in words]
        if self._bigram_weight:
            features += [(f"{a} {b}", self._bigram_weight) for a, b in itertools.pairwise(words)]
        if not features:  # a zero vector has no direction; give empty text its own
            features = [(_EMPTY_FEATURE, 1.0)]
        for feature, weight in features:
            digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
            bucket = int.from_bytes(digest[:7], "little") % self._dimension
            vector[bucket] += weight if digest[7] & 1 else -weight
        norm = math.sqrt(sum(v * v for v in vector))
        if norm == 0.0:  # every feature cancelled out in shared buckets
            vector[0], norm = 1.0, 1.0
        return [v / norm for v in vector]
