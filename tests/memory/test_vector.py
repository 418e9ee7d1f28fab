"""Long-term memory on sqlite-vec: search by similarity, filters, persistence, agent tools."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "sqlite_vec", reason="sqlite-vec is not installed: pip install 'podium[memory]'"
)

from podium import Agent, ConfigError, MemoryStore
from podium.memory import (
    Embedder,
    HashingEmbedder,
    Memory,
    MemoryHit,
    SqliteVecMemory,
    memory_tools,
)
from podium.testing import ScriptedModel, call

NOTES = {
    "cats": "the cat sleeps on the warm windowsill every afternoon",
    "db": "postgres connection pool size is set to twenty in production",
    "trip": "the team offsite is booked in lisbon for the second week of june",
}


@pytest.fixture
async def mem() -> AsyncIterator[SqliteVecMemory]:
    async with SqliteVecMemory(":memory:", HashingEmbedder()) as memory:
        for key, text in NOTES.items():
            await memory.add(text, id=key, metadata={"topic": key, "team": "ops"})
        yield memory


async def test_the_nearest_hit_is_the_text_sharing_the_querys_words(mem: SqliteVecMemory) -> None:
    hits = await mem.search("what is the postgres pool size", k=3)

    assert isinstance(mem, Memory)
    assert hits[0].id == "db"
    assert hits[0].text == NOTES["db"] and hits[0].metadata == {"topic": "db", "team": "ops"}
    assert hits[0].score > hits[1].score >= hits[2].score
    assert -1.0 <= hits[-1].score <= hits[0].score <= 1.0
    assert len(await mem.search("cat", k=2)) == 2
    assert await mem.count() == 3


async def test_delete_removes_the_entry_from_search_results(mem: SqliteVecMemory) -> None:
    assert await mem.delete("db") is True
    assert await mem.delete("db") is False

    hits = await mem.search("postgres pool size", k=5)

    assert "db" not in [h.id for h in hits]
    assert await mem.count() == 2
    assert await mem.get("db") is None


async def test_add_with_an_existing_id_replaces_the_entry(mem: SqliteVecMemory) -> None:
    await mem.add("the offsite moved to porto", id="trip", metadata={"topic": "trip"})

    (hit,) = await mem.search("where is the offsite", k=1)

    assert (hit.id, hit.text) == ("trip", "the offsite moved to porto")
    assert await mem.count() == 3


async def test_where_filters_on_metadata_inside_the_knn_query(mem: SqliteVecMemory) -> None:
    await mem.add("the dog sleeps on the mat", metadata={"topic": "pets", "team": "home"})

    home = await mem.search("the cat sleeps on the windowsill", k=5, where={"team": "home"})
    cats = await mem.search("sleeps", k=5, where={"team": "ops", "topic": "cats"})
    none = await mem.search("sleeps", k=5, where={"team": "nobody"})

    assert [h.text for h in home] == ["the dog sleeps on the mat"]
    assert [h.id for h in cats] == ["cats"]
    assert none == []
    with pytest.raises(ConfigError, match="only str, int, float, bool or None"):
        await mem.search("x", where={"team": ["ops"]})  # type: ignore[dict-item]


async def test_where_matches_booleans_and_numbers_by_their_json_type(
    mem: SqliteVecMemory,
) -> None:
    await mem.add("flagged", id="t", metadata={"flag": True, "n": 1})
    await mem.add("counted", id="one", metadata={"flag": 1, "n": 1.0})
    await mem.add("cleared", id="f", metadata={"flag": False, "n": 0})

    def ids(hits: list[Any]) -> set[str]:
        return {h.id for h in hits}

    assert ids(await mem.search("x", k=10, where={"flag": True})) == {"t"}
    assert ids(await mem.search("x", k=10, where={"flag": 1})) == {"one"}
    assert ids(await mem.search("x", k=10, where={"flag": False})) == {"f"}
    assert ids(await mem.search("x", k=10, where={"n": 1})) == {"t", "one"}  # 1 == 1.0


async def test_a_file_backed_memory_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "memory.db"
    async with SqliteVecMemory(path, HashingEmbedder()) as first:
        ids = {key: await first.add(text) for key, text in NOTES.items()}

    async with SqliteVecMemory(path, HashingEmbedder()) as again:
        hits = await again.search("offsite in lisbon", k=1)
        assert await again.count() == 3
    assert hits == [MemoryHit(id=ids["trip"], text=NOTES["trip"], metadata={}, score=hits[0].score)]
    assert len(ids["trip"]) == 32  # a uuid4 hex when no id is given


async def test_another_embedder_dimension_for_an_existing_collection_is_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "memory.db"
    async with SqliteVecMemory(path, HashingEmbedder(256)) as mem:
        await mem.add("hello")

    with pytest.raises(ConfigError, match=r"holds 256-dimension vectors .* gives 64"):
        async with SqliteVecMemory(path, HashingEmbedder(64)):
            pass
    async with SqliteVecMemory(path, HashingEmbedder(64), collection="small") as other:
        await other.add("a collection of its own may use another embedder")
        assert await other.count() == 1


async def test_bad_collection_names_and_k_are_config_errors(mem: SqliteVecMemory) -> None:
    with pytest.raises(ConfigError, match="collection"):
        SqliteVecMemory(":memory:", HashingEmbedder(), collection="x; DROP TABLE y")
    with pytest.raises(ConfigError, match="k must be between"):
        await mem.search("x", k=0)


async def test_a_closed_memory_says_so() -> None:
    mem = SqliteVecMemory(":memory:", HashingEmbedder())
    await mem.add("x")
    await mem.close()
    await mem.close()

    with pytest.raises(ConfigError, match="is closed"):
        await mem.search("x")


def test_hashing_embedder_is_deterministic_normalized_and_word_based() -> None:
    emb = HashingEmbedder(128)

    a, b, c, empty = (
        emb.embed_one(t) for t in ("The Cat sat", "the cat  SAT!", "quarterly revenue", "")
    )

    def cos(x: list[float], y: list[float]) -> float:
        return sum(p * q for p, q in zip(x, y, strict=True))

    assert isinstance(emb, Embedder) and len(a) == emb.dimension == 128
    assert a == b  # case, spacing and punctuation do not matter
    assert abs(cos(a, a) - 1.0) < 1e-9 and abs(cos(empty, empty) - 1.0) < 1e-9
    assert cos(a, emb.embed_one("a cat sat on the mat")) > cos(a, c)


async def test_recall_and_remember_tools_through_an_agent_run() -> None:
    mem = SqliteVecMemory(":memory:", HashingEmbedder())
    model = ScriptedModel(
        [
            call("remember", text="the staging database password rotates every friday"),
            call("recall", query="when does the database password rotate", k=3),
            "It rotates every Friday.",
        ]
    )
    agent = Agent("assistant", model=model, tools=[*memory_tools(mem, namespace="ops")])
    await mem.add("the database in another namespace", metadata={"namespace": "dev"})

    result = await agent.run("remember the rotation, then look it up", store=MemoryStore())

    assert result.ok and result.output == "It rotates every Friday."
    recalled = [m for m in model.requests[2].messages if m.role == "tool"][-1]
    hits = json.loads(recalled.content)
    assert [h["text"] for h in hits] == ["the staging database password rotates every friday"]
    (stored,) = await mem.search("staging password", k=1, where={"namespace": "ops"})
    assert stored.metadata["agent"] == "assistant" and stored.metadata["run_id"] == result.run_id
    assert stored.id.startswith(result.run_id)  # the idempotency key: a replay replaces it
    tools = {t.name: t for t in memory_tools(mem)}
    assert (tools["recall"].effect, tools["remember"].effect) == ("read", "write")
    await mem.close()


async def test_remember_keeps_secrets_out_of_the_memory_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FOO_API_KEY", "s3cret-value-123")
    mem = SqliteVecMemory(":memory:", HashingEmbedder())
    model = ScriptedModel(
        [call("remember", text="the deploy key is FOO_API_KEY=s3cret-value-123"), "noted"]
    )
    agent = Agent("assistant", model=model, tools=memory_tools(mem))

    result = await agent.run("note the key", store=MemoryStore())

    assert result.ok
    (hit,) = await mem.search("deploy key", k=1)
    assert hit.text == "the deploy key is FOO_API_KEY=[REDACTED]"
    await mem.close()


async def test_collection_names_differing_only_in_case_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    async with SqliteVecMemory(path, HashingEmbedder(), collection="Notes") as upper:
        await upper.add("an upper-case note")

    lower = SqliteVecMemory(path, HashingEmbedder(), collection="notes")
    with pytest.raises(ConfigError, match=r"'notes'.*'Notes'"):
        await lower.count()  # SQLite table names ignore case: it would see the other's notes
    await lower.close()
