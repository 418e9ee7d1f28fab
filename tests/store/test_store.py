"""The run store contract, one suite switched between memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from store_kit import Backend, event, record

from podium import Agent, Event, EventKind, Orchestrator, StoreError
from podium.store import RunStore
from podium.testing import Price, ScriptedModel


async def test_events_come_back_in_order_with_every_field(store: RunStore) -> None:
    await store.create_run(record("r1"))
    await store.create_run(record("r2"))
    written = [event("r1", i, text=f"step {i}") for i in range(5)]
    await store.append(written[:2])
    await store.append([event("r2", 0, text="other run")])
    await store.append(written[2:3])
    await store.append(written[3:])

    assert await store.events("r1") == written
    assert [e.payload["text"] for e in await store.events("r2")] == ["other run"]
    assert await store.events("missing") == []


async def test_finish_run_stores_the_outcome(store: RunStore) -> None:
    await store.create_run(record("r1", task="summarize"))
    running = await store.get_run("r1")
    assert running is not None and running.status == "running" and running.ended_at is None

    usage = {
        "total": {
            "model_calls": 2,
            "input_tokens": 10,
            "output_tokens": 5,
            "cost_usd": 0.25,
            "wall_time_s": 1.5,
        },
        "per_agent": {},
        "per_model": {},
    }
    final = record(
        "r1",
        task="summarize",
        status="completed",
        ended_at=1_005.0,
        output="the summary",
        usage=usage,
        model="scripted:demo",
        offline=True,
    )
    await store.finish_run(final)

    assert await store.get_run("r1") == final
    failed = record("r2", status="error", error="boom")
    await store.create_run(record("r2"))
    await store.finish_run(failed)
    assert await store.get_run("r2") == failed


async def test_get_run_by_id_or_unique_prefix(store: RunStore) -> None:
    for run_id in ("0190abc1", "0190abd2", "ffff0001", "a_b", "a%c"):
        await store.create_run(record(run_id))

    async def found(key: str) -> str | None:
        run = await store.get_run(key)
        return run.run_id if run else None

    assert await found("0190abd2") == "0190abd2"
    assert await found("ffff") == "ffff0001"
    assert await found("0190abc") == "0190abc1"
    assert await found("0190ab") is None  # ambiguous
    assert await found("nope") is None
    assert await found("FFFF") is None  # ids are case-sensitive
    assert await found("a_") == "a_b"  # no wildcards
    assert await found("a%") == "a%c"


async def test_list_runs_newest_first(store: RunStore) -> None:
    for i, created in enumerate([30.0, 10.0, 50.0, 20.0, 40.0]):
        await store.create_run(record(f"r{i}", created_at=created))

    assert [r.run_id for r in await store.list_runs()] == ["r2", "r4", "r0", "r3", "r1"]
    assert [r.run_id for r in await store.list_runs(limit=2)] == ["r2", "r4"]


async def test_concurrent_appends_all_land(store: RunStore) -> None:
    await store.create_run(record("busy"))
    await store.create_run(record("quiet"))

    async def writer(task: int) -> None:
        for i in range(5):
            await store.append([event("busy", task * 5 + i, task=task)])
            await asyncio.sleep(0)

    await asyncio.gather(*(writer(t) for t in range(200)))
    await store.append([event("quiet", 0)])

    events = await store.events("busy")
    assert sorted(e.seq for e in events) == list(range(1000))
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert len(await store.events("quiet")) == 1


async def test_unicode_round_trips(store: RunStore) -> None:
    # NUL is refused by PostgreSQL text, lone surrogates by UTF-8: both come back
    text = 'héllo — 日本語 🎉 "quotes" \\ \n\t\x00 \u2028 \ud83d lone'
    payload = {
        "text": text,
        "nested": [{"ü": 1.5, "none": None, "flag": True, "nul\x00key": "\x00"}],
        "surrogate": "\ud83d",
    }
    await store.create_run(record("u1", task=text))
    odd = event("u1", 0, **payload)
    odd.path, odd.parent, odd.agent = "root/tool[\x00]#0", "root\udc80", "ag\x00ent"
    await store.append([odd])
    final = record("u1", task=text, status="completed", output=text, error=text, model=text)
    final.name = "\ufdd0 looks like the escape mark"
    final.usage = {"per_model": {"m\u00fc\ud83d": {"cost_usd": 0.5}}, "per_agent": {"ärzte": {}}}
    await store.finish_run(final)

    (stored,) = await store.events("u1")
    assert stored == odd
    assert await store.get_run("u1") == final


async def test_a_batch_is_stored_all_or_none(store: RunStore) -> None:
    await store.create_run(record("r1"))
    await store.append([event("r1", 0, text="first")])

    with pytest.raises(StoreError):  # seq 0 is taken
        await store.append([event("r1", 1), event("r1", 2), event("r1", 0, text="again")])
    with pytest.raises(StoreError):  # seq 5 twice in one batch
        await store.append([event("r1", 5), event("r1", 5)])

    assert [(e.seq, e.payload) for e in await store.events("r1")] == [(0, {"text": "first"})]
    await store.append([event("r1", 1), event("r1", 2)])
    assert [e.seq for e in await store.events("r1")] == [0, 1, 2]


async def test_a_run_id_is_recorded_once(store: RunStore) -> None:
    await store.create_run(record("r1", task="first"))
    with pytest.raises(StoreError):
        await store.create_run(record("r1", task="second"))
    run = await store.get_run("r1")
    assert run is not None and run.task == "first"


async def test_a_failed_write_does_not_break_the_store(store: RunStore) -> None:
    await store.create_run(record("r1"))
    await store.append([event("r1", 0)])

    writes = asyncio.gather(
        store.append([event("r1", 0)]),  # duplicate seq: rejected
        *(store.append([event("r1", i)]) for i in range(1, 20)),
        store.create_run(record("r1")),  # duplicate run: rejected
        return_exceptions=True,
    )
    results = await asyncio.wait_for(writes, timeout=10)

    assert isinstance(results[0], StoreError)
    assert isinstance(results[-1], StoreError)
    assert results[1:-1] == [None] * 19
    await asyncio.wait_for(store.append([event("r1", 20)]), timeout=10)
    assert [e.seq for e in await store.events("r1")] == list(range(21))


async def test_a_run_id_the_database_cannot_hold_is_a_store_error(sql_backend: Backend) -> None:
    store = sql_backend.open()
    with pytest.raises(StoreError, match="write failed"):
        await store.create_run(record("bad\ud800id"))
    await store.create_run(record("good"))
    assert [r.run_id for r in await store.list_runs()] == ["good"]


async def test_team_run_is_readable_from_a_new_store(backend: Backend) -> None:
    plan = '{"subtasks": [{"id": "t1", "assignee": "w1", "instructions": "go"}]}'
    price = Price(input=1.0, output=2.0)
    team = Orchestrator(
        planner=Agent("planner", model=ScriptedModel([plan, "final"], price=price)),
        workers=[Agent("w1", model=ScriptedModel(["w1 result"], price=price))],
    )
    seen: list[Event] = []
    writer = backend.open()
    result = await team.run("a task", store=writer, listeners=(seen.append,))
    await writer.close()

    reader = backend.open()
    events = await reader.events(result.run_id)
    run = await reader.get_run(result.run_id[:8])

    assert result.ok
    assert events == seen
    assert [e.seq for e in events] == list(range(len(seen)))
    assert events[0].kind is EventKind.RUN_START and events[-1].kind is EventKind.RUN_END
    assert run is not None
    assert (run.run_id, run.status, run.output) == (result.run_id, "completed", "final")
    assert run.offline is True
    assert run.usage == result.usage.to_dict()
    assert run.usage["total"]["model_calls"] == 3
    assert sum(e.cost_usd for e in events) == pytest.approx(result.usage.total.cost_usd)


async def test_reopening_an_existing_database_keeps_and_extends_it(sql_backend: Backend) -> None:
    first = sql_backend.open()
    await first.create_run(record("r1", created_at=1.0))
    await first.append([event("r1", 0)])
    await first.close()

    second = sql_backend.open()
    await second.append([event("r1", 1)])
    await second.create_run(record("r2", created_at=2.0))
    assert [e.seq for e in await second.events("r1")] == [0, 1]
    assert [r.run_id for r in await second.list_runs()] == ["r2", "r1"]


async def test_a_closed_store_opens_again_on_use(sql_backend: Backend) -> None:
    store = sql_backend.open()
    await store.create_run(record("r1"))
    await store.close()
    await store.append([event("r1", 0)])
    assert len(await store.events("r1")) == 1


async def test_newer_schema_is_refused_with_a_clear_message(sql_backend: Backend) -> None:
    old = sql_backend.open()
    await old.create_run(record("r1"))
    await old.close()
    sql_backend.raw("UPDATE meta SET value='99' WHERE key='schema_version'")

    store = sql_backend.open()
    with pytest.raises(StoreError, match=r"newer podium \(schema 99.*upgrade podium"):
        await store.list_runs()
    with pytest.raises(StoreError, match="newer podium"):
        await store.append([event("r1", 0)])
