"""A BERT encoder forward pass in NumPy, for sentence embeddings on the CPU.

Small BERT models (all-MiniLM-L6-v2: 6 layers, 384 wide) run fast enough in
plain NumPy, which spares users a deep-learning runtime of hundreds of MB. This
module imports NumPy and safetensors at the top, so it is imported lazily by
`MiniLMEmbedder` only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from safetensors.numpy import load_file

__all__ = ["BertConfig", "BertEncoder"]

F32 = NDArray[np.float32]
I64 = NDArray[np.int64]

# Abramowitz & Stegun 7.1.26: erf to within 1.5e-7, vectorized (NumPy has no erf).
_P = 0.3275911
_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


@dataclass(frozen=True, slots=True, kw_only=True)
class BertConfig:
    """The shape of a BERT checkpoint (from its ``config.json``)."""

    hidden_size: int
    num_heads: int
    num_layers: int
    max_positions: int
    layer_norm_eps: float = 1e-12

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BertConfig:
        """Read the Hugging Face ``config.json`` fields that matter here."""
        return cls(
            hidden_size=int(data["hidden_size"]),
            num_heads=int(data["num_attention_heads"]),
            num_layers=int(data["num_hidden_layers"]),
            max_positions=int(data.get("max_position_embeddings", 512)),
            layer_norm_eps=float(data.get("layer_norm_eps", 1e-12)),
        )


def _erf(x: F32) -> F32:
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + _P * a)
    poly = t * (_A[0] + t * (_A[1] + t * (_A[2] + t * (_A[3] + t * _A[4]))))
    out: F32 = (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)
    return out


def _gelu(x: F32) -> F32:
    out: F32 = (0.5 * x * (1.0 + _erf(x / np.float32(math.sqrt(2.0))))).astype(np.float32)
    return out


def _layer_norm(x: F32, gamma: F32, beta: F32, eps: float) -> F32:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    out: F32 = ((x - mean) / np.sqrt(var + eps) * gamma + beta).astype(np.float32)
    return out


def _softmax(x: F32) -> F32:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    out: F32 = (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)
    return out


class BertEncoder:
    """BERT encoder + mean pooling + L2 normalization (sentence-transformers style).

    Args:
        weights: tensors named as in a Hugging Face ``BertModel`` checkpoint
            (an optional ``bert.`` prefix is accepted).
        config: the checkpoint's shape.
    """

    def __init__(self, weights: dict[str, NDArray[Any]], config: BertConfig) -> None:
        w = {k.removeprefix("bert."): v for k, v in weights.items()}
        self.config = config

        def get(name: str) -> F32:
            if name not in w:
                raise KeyError(f"BERT checkpoint has no tensor {name!r}")
            return np.ascontiguousarray(w[name], dtype=np.float32)

        e = "embeddings."
        self._word = get(e + "word_embeddings.weight")
        self._pos = get(e + "position_embeddings.weight")
        self._type0 = get(e + "token_type_embeddings.weight")[0]
        self._ln = (get(e + "LayerNorm.weight"), get(e + "LayerNorm.bias"))
        self._layers: list[dict[str, F32]] = []
        for i in range(config.num_layers):
            p = f"encoder.layer.{i}."
            att = p + "attention."
            # Linear weights are stored [out, in]; keep them transposed and fuse Q, K, V.
            qkv_w = [get(f"{att}self.{n}.weight").T for n in ("query", "key", "value")]
            qkv_b = [get(f"{att}self.{n}.bias") for n in ("query", "key", "value")]
            self._layers.append(
                {
                    "qkv_w": np.ascontiguousarray(np.concatenate(qkv_w, axis=1)),
                    "qkv_b": np.concatenate(qkv_b),
                    "o_w": np.ascontiguousarray(get(att + "output.dense.weight").T),
                    "o_b": get(att + "output.dense.bias"),
                    "ln1_g": get(att + "output.LayerNorm.weight"),
                    "ln1_b": get(att + "output.LayerNorm.bias"),
                    "i_w": np.ascontiguousarray(get(p + "intermediate.dense.weight").T),
                    "i_b": get(p + "intermediate.dense.bias"),
                    "out_w": np.ascontiguousarray(get(p + "output.dense.weight").T),
                    "out_b": get(p + "output.dense.bias"),
                    "ln2_g": get(p + "output.LayerNorm.weight"),
                    "ln2_b": get(p + "output.LayerNorm.bias"),
                }
            )

    @classmethod
    def load(cls, weights_file: Path, config: BertConfig) -> BertEncoder:
        """Load a ``model.safetensors`` checkpoint."""
        return cls(load_file(str(weights_file)), config)

    def encode(self, ids: I64, mask: I64) -> F32:
        """Sentence vectors for a padded batch: `ids` and `mask` are (batch, tokens)."""
        cfg = self.config
        batch, length = ids.shape
        heads, width = cfg.num_heads, cfg.hidden_size // cfg.num_heads
        x = self._word[ids] + self._pos[:length] + self._type0
        # Tokens as rows of one 2-D matrix: one BLAS call per weight, not one per text.
        x = _layer_norm(x.reshape(batch * length, -1), *self._ln, cfg.layer_norm_eps)
        bias = ((1.0 - mask[:, None, None, :]) * np.float32(-1e9)).astype(np.float32)
        scale = np.float32(1.0 / math.sqrt(width))
        for layer in self._layers:
            qkv = x @ layer["qkv_w"] + layer["qkv_b"]
            q, k, v = (
                np.ascontiguousarray(
                    part.reshape(batch, length, heads, width).transpose(0, 2, 1, 3)
                )
                for part in np.split(qkv, 3, axis=-1)
            )
            probs = _softmax((q @ k.transpose(0, 1, 3, 2)) * scale + bias)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch * length, -1)
            x = _layer_norm(
                x + context @ layer["o_w"] + layer["o_b"],
                layer["ln1_g"],
                layer["ln1_b"],
                cfg.layer_norm_eps,
            )
            hidden = _gelu(x @ layer["i_w"] + layer["i_b"])
            x = _layer_norm(
                x + hidden @ layer["out_w"] + layer["out_b"],
                layer["ln2_g"],
                layer["ln2_b"],
                cfg.layer_norm_eps,
            )
        x = x.reshape(batch, length, -1)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (x * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        out: F32 = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return out
