"""Pipelines: stages read only what they declare; checks send work back once."""

from __future__ import annotations

from collections.abc import Sequence

from podium import Agent, EventKind, MemoryStore, ModelRequest, StopReason
from podium.patterns import Pipeline, Stage
from podium.testing import ScriptedModel

FILLER = (
    "Tide pools are rocky hollows that hold sea water when the tide goes out; they shelter "
    "anemones, crabs, snails and algae that must survive heat, salt and waves. "
)


def fact(k: int) -> str:
    return f"FACT-{k}: the stage {k} measurement is {1000 + 37 * k} units"


def stage_model(k: int) -> ScriptedModel:
    """Answers with ~400 tokens (1,600 bytes) that contain one unique fact."""

    def answer(request: ModelRequest) -> str:
        body = (FILLER * 20)[:1550]
        return f"{fact(k)}. {body}"

    return ScriptedModel(fn=answer)


def stages(reads: dict[int, Sequence[str]]) -> list[Agent]:
    return [
        Agent(
            f"s{k}",
            role=f"stage {k}",
            model=stage_model(k),
            writes=[f"s{k}"],
            reads=reads.get(k, ()),
        )
        for k in range(1, 6)
    ]


def prompt_of(agent: Agent) -> str:
    model = agent.model
    assert isinstance(model, ScriptedModel)
    return "\n".join(m.content for r in model.requests for m in r.messages)


async def test_stage_k_plus_2_sees_only_declared_reads_and_prompts_stay_small() -> None:
    declared = stages({3: ["s1"], 4: ["s2"], 5: ["s3"]})
    store = MemoryStore()
    result = await Pipeline(declared, name="five").run("study tide pools", store=store)
    assert result.stop_reason is StopReason.COMPLETED

    for k in (3, 4, 5):
        prompt = prompt_of(declared[k - 1])
        assert fact(k - 2) in prompt  # declared read arrives
        for other in range(1, 6):
            if other != k - 2:
                assert f"FACT-{other}:" not in prompt  # undeclared stages do not

    # the same pipeline where every stage reads everything before it (full transcript)
    full = stages({k: [f"s{j}" for j in range(1, k)] for k in range(2, 6)})
    full_result = await Pipeline(full, name="five-full").run(
        "study tide pools", store=MemoryStore()
    )
    for k in range(2, 6):
        assert all(fact(j) in prompt_of(full[k - 1]) for j in range(1, k))

    declared_tokens = result.usage.total.input_tokens
    full_tokens = full_result.usage.total.input_tokens
    ratio = declared_tokens / full_tokens
    print(
        f"\npipeline prompt tokens: declared reads {declared_tokens}, "
        f"full transcript {full_tokens}, ratio {ratio:.2f}"
    )
    assert ratio < 0.6

    writes = [e for e in await store.events(result.run_id) if e.kind is EventKind.BLACKBOARD_WRITE]
    assert [e.payload["key"] for e in writes] == ["s1", "s2", "s3", "s4", "s5"]
    s3 = next(e for e in writes if e.payload["key"] == "s3")
    assert s3.payload["sources"] == ["s1"] and s3.agent == "s3"
    assert s3.path == "root/stage[s3]"


async def test_chain_without_declarations_passes_previous_output() -> None:
    first = Agent("first", model=ScriptedModel(["draft with FACT-A"]))
    second = Agent("second", model=ScriptedModel(["final"]))
    result = await Pipeline([first, second]).run("go", store=MemoryStore())
    assert result.output == "final"
    assert "FACT-A" in prompt_of(second)


async def test_stage_check_sends_work_back_once_then_stops() -> None:
    writer = Agent("writer", model=ScriptedModel(["too short", "a long enough draft"]))
    seen: list[str] = []

    def long_enough(output: str) -> str | None:
        seen.append(output)
        return None if len(output) > 10 else "make it longer than 10 characters"

    store = MemoryStore()
    result = await Pipeline([Stage(writer, check=long_enough)]).run("write", store=store)
    assert result.output == "a long enough draft"
    assert seen == ["too short", "a long enough draft"]
    second_prompt = writer.model.requests[1].messages[-1].content  # type: ignore[union-attr]
    assert "make it longer than 10 characters" in second_prompt
    paths = [e.path for e in await store.events(result.run_id) if e.kind is EventKind.STAGE_END]
    assert paths == ["root/stage[writer]", "root/stage[writer]#1"]

    stubborn = Agent("writer", model=ScriptedModel(["no", "still no"]))
    failed = await Pipeline([Stage(stubborn, check=long_enough)]).run("write", store=MemoryStore())
    assert failed.stop_reason is StopReason.VERIFICATION_FAILED
    assert "writer" in (failed.error or "")
