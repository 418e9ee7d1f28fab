"""OpenTelemetry export: GenAI spans nested by step path, metrics, and activation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from observe_kit import PRICE, plan_json
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from podium import Agent, MemoryStore, ModelRequest, Orchestrator, ProviderError, Result, tool
from podium.approvals import Approval, decide
from podium.events import Event, EventKind
from podium.observe import TraceNode, _listeners, build_trace, instrument, uninstrument
from podium.observe._otel_setup import otel_requested
from podium.patterns import Handoffs
from podium.testing import ScriptedModel, call


@tool
def search(query: str) -> str:
    """Search the notes."""
    return f"notes about {query}"


@pytest.fixture
def otel() -> Iterator[tuple[InMemorySpanExporter, InMemoryMetricReader, TracerProvider]]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    instrument(tracer_provider, MeterProvider(metric_readers=[reader]))
    yield exporter, reader, tracer_provider
    uninstrument()


def _team() -> Orchestrator:
    plan = plan_json(("t1", "w1", "look it up", ()), ("t2", "w2", "summarize", ("t1",)))
    model = ScriptedModel(
        {
            "lead": [plan, "final answer"],
            "w1": [call("search", query="tides"), "tides are daily"],
            "w2": ["a summary"],
        },
        name="scripted:priced",
        price=PRICE,
    )
    return Orchestrator(
        planner=Agent("lead", model=model),
        workers=[Agent("w1", model=model, tools=[search]), Agent("w2", model=model)],
        name="crew",
    )


async def _run(team: Any) -> tuple[Result, list[Event]]:
    store = MemoryStore()
    result = await team.run("about tides", store=store)
    return result, await store.events(result.run_id)


def _by_step(spans: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    out = {str(s.attributes["podium.step"]): s for s in spans if s.attributes}
    assert len(out) == len(spans)  # one span per step
    return out


def _parent(span: ReadableSpan, spans: dict[str, ReadableSpan]) -> str | None:
    if span.parent is None:
        return None
    (found,) = [p for p, s in spans.items() if s.context.span_id == span.parent.span_id]
    return found


async def test_team_run_becomes_nested_genai_spans(otel: Any) -> None:
    exporter, _, _ = otel
    result, events = await _run(_team())
    spans = _by_step(exporter.get_finished_spans())

    parents = {path: _parent(span, spans) for path, span in spans.items()}
    assert parents == {
        "root": None,
        "root/plan": "root",
        "root/plan/model#0": "root/plan",
        "root/task[t1]": "root",
        "root/task[t1]/model#0": "root/task[t1]",
        "root/task[t1]/tool[search]#0": "root/task[t1]",
        "root/task[t1]/model#1": "root/task[t1]",
        "root/task[t2]": "root",
        "root/task[t2]/model#0": "root/task[t2]",
        "root/aggregate": "root",
        "root/aggregate/model#0": "root/aggregate",
    }
    assert len({s.context.trace_id for s in spans.values()}) == 1

    root = spans["root"]
    assert root.name == "invoke_agent crew" and root.kind is SpanKind.INTERNAL
    assert root.attributes is not None
    assert root.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert root.attributes["podium.team.pattern"] == "orchestrator"
    assert root.attributes["podium.run_id"] == result.run_id
    assert spans["root/task[t1]"].attributes == {
        **dict(spans["root/task[t1]"].attributes or {}),
        "gen_ai.agent.name": "w1",
        "podium.subtask.id": "t1",
    }

    chat = spans["root/task[t1]/model#1"]
    responses = [e for e in events if e.kind is EventKind.MODEL_RESPONSE]
    (response,) = [e for e in responses if e.path == "root/task[t1]/model#1"]
    assert chat.name == "chat priced" and chat.kind is SpanKind.CLIENT
    assert chat.attributes is not None
    assert chat.attributes["gen_ai.operation.name"] == "chat"
    assert chat.attributes["gen_ai.provider.name"] == "scripted"
    assert chat.attributes["gen_ai.request.model"] == "priced"
    assert chat.attributes["gen_ai.response.model"] == "priced"
    assert chat.attributes["gen_ai.agent.name"] == "w1"
    assert chat.attributes["gen_ai.usage.input_tokens"] == response.input_tokens > 0
    assert chat.attributes["gen_ai.usage.output_tokens"] == response.output_tokens > 0
    assert chat.attributes["podium.cost_usd"] == pytest.approx(response.cost_usd)
    (request,) = [
        e for e in events if e.path == response.path and e.kind is EventKind.MODEL_REQUEST
    ]
    assert chat.start_time == int(request.started_at * 1e9)  # the events' own times
    assert chat.end_time == int(response.ended_at * 1e9)

    tool_span = spans["root/task[t1]/tool[search]#0"]
    assert tool_span.name == "execute_tool search"
    assert tool_span.attributes is not None
    assert tool_span.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool_span.attributes["gen_ai.tool.name"] == "search"
    assert "gen_ai.tool.call.arguments" not in tool_span.attributes  # content is opt-in

    chats = [s for s in spans.values() if s.name.startswith("chat ")]
    assert sum(int(s.attributes["gen_ai.usage.input_tokens"]) for s in chats) == (
        result.usage.total.input_tokens
    )
    writes = [e for e in spans["root/task[t2]"].events if e.name == "podium.blackboard_write"]
    assert writes and writes[0].attributes is not None
    assert writes[0].attributes["podium.key"] == "task.t2"
    assert all(s.end_time is not None and s.end_time >= (s.start_time or 0) for s in spans.values())


async def test_metrics_token_usage_duration_and_cost(otel: Any) -> None:
    _, reader, _ = otel
    result, _ = await _run(_team())
    data = reader.get_metrics_data()
    assert data is not None
    metrics = {
        m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
    }

    usage = metrics["gen_ai.client.token.usage"]
    assert usage.unit == "{token}"
    by_type: dict[str, int] = {}
    for point in usage.data.data_points:
        kind = str(point.attributes["gen_ai.token.type"])
        by_type[kind] = by_type.get(kind, 0) + int(point.sum)
        assert point.attributes["gen_ai.request.model"] == "priced"
    assert by_type == {
        "input": result.usage.total.input_tokens,
        "output": result.usage.total.output_tokens,
    }
    duration = metrics["gen_ai.client.operation.duration"]
    assert duration.unit == "s"
    assert sum(p.count for p in duration.data.data_points) == 5
    cost = sum(p.value for p in metrics["podium.cost"].data.data_points)
    assert cost == pytest.approx(result.usage.total.cost_usd)


async def test_provider_error_marks_the_chat_span_and_the_run(otel: Any) -> None:
    exporter, _, _ = otel

    def fail(request: ModelRequest) -> str:
        raise ProviderError("overloaded", provider="scripted", model="x", status=529)

    result, _ = await _run(Agent("solo", model=ScriptedModel(fn=fail)))
    assert not result.ok
    spans = _by_step(exporter.get_finished_spans())
    chat = spans["root/model#0"]
    assert chat.status.status_code is StatusCode.ERROR
    assert chat.attributes is not None and chat.attributes["error.type"] == "ProviderError"
    assert [e.name for e in chat.events] == ["exception"]
    assert spans["root"].status.status_code is StatusCode.ERROR


async def test_a_run_paused_for_a_human_is_not_an_error_span(otel: Any) -> None:
    exporter, _, _ = otel

    @tool(effect="write", needs_approval=True)
    def publish(text: str) -> str:
        """Publish the text."""
        return "published"

    agent = Agent("writer", tools=[publish], model=ScriptedModel([call("publish", text="hi")]))
    result, _ = await _run(agent)
    assert result.stop_reason.value == "waiting_approval"
    spans = _by_step(exporter.get_finished_spans())
    assert spans["root"].status.status_code is StatusCode.UNSET


async def test_a_handoff_reason_is_content_and_stays_off_spans_by_default(otel: Any) -> None:
    """The reason is an argument the model wrote to the transfer tool: opt-in content."""
    exporter, _, _ = otel
    reason = "Jane Roe says card 4242 was charged twice"
    triage = Agent(
        "triage",
        handoffs=["billing"],
        model=ScriptedModel([call("transfer_to_billing", reason=reason)]),
    )
    billing = Agent("billing", model=ScriptedModel(["refunded"]))
    result, _ = await _run(Handoffs([triage, billing]))
    assert result.ok
    spans = _by_step(exporter.get_finished_spans())
    (handoff,) = [e for s in spans.values() for e in s.events if e.name == "podium.handoff"]
    assert handoff.attributes is not None
    assert (handoff.attributes["podium.from"], handoff.attributes["podium.to"]) == (
        "triage",
        "billing",
    )
    for span in spans.values():
        texts = [str(span.attributes), span.status.description or ""]
        texts += [str(e.attributes) for e in span.events]
        assert not any("Jane Roe" in t for t in texts), span.name


async def test_the_callers_active_span_is_the_runs_parent(otel: Any) -> None:
    exporter, _, tracer_provider = otel
    with tracer_provider.get_tracer("app").start_as_current_span("request") as outer:
        await _run(Agent("solo", model=ScriptedModel(["hi"])))
    root = _by_step(tuple(s for s in exporter.get_finished_spans() if s.name != "request"))["root"]
    assert root.parent is not None and root.parent.span_id == outer.get_span_context().span_id


def _trace_parents(events: list[Event]) -> dict[str, str | None]:
    """Each step's enclosing step in the trace tree of the stored log."""
    parents: dict[str, str | None] = {}

    def walk(node: TraceNode, parent: str | None) -> None:
        if not node.mark:
            parents[node.path], parent = parent, node.path
        for child in node.children:
            walk(child, parent)

    root = build_trace(events).root
    assert root is not None
    walk(root, None)
    return parents


def _assert_nested_as_traced(spans: dict[str, ReadableSpan], events: list[Event]) -> None:
    traced = _trace_parents(events)
    assert {p: _parent(s, spans) for p, s in spans.items()} == {p: traced[p] for p in spans}
    assert len({s.context.trace_id for s in spans.values()}) == 1


def _started(events: list[Event], path: str) -> int:
    return int(min(e.started_at for e in events if e.path == path) * 1e9)


def _gated_team(w1: list[Any]) -> Orchestrator:
    @tool(effect="write", needs_approval=True)
    def publish(text: str) -> str:
        """Publish the text."""
        return "published"

    plan = plan_json(("t1", "w1", "publish it", ()), ("t2", "w2", "summarize", ("t1",)))
    model = ScriptedModel(
        {"lead": [plan, "final answer"], "w1": w1, "w2": ["a summary"]}, name="scripted:priced"
    )
    return Orchestrator(
        planner=Agent("lead", model=model),
        workers=[Agent("w1", model=model, tools=[publish]), Agent("w2", model=model)],
        name="crew",
    )


async def test_a_resumed_run_continues_the_steps_it_left_open(otel: Any) -> None:
    """A subtask paused at an approval gate goes on under one span when resumed."""
    exporter, _, _ = otel
    store = MemoryStore()
    paused = await _gated_team([call("publish", text="hi")]).run("ship it", store=store)
    assert paused.stop_reason.value == "waiting_approval"
    before = _by_step(exporter.get_finished_spans())
    gate = "root/task[t1]/tool[publish]#0"
    assert {"root/task[t1]", gate} <= set(before)
    await decide(store, paused.run_id, gate, Approval(approved=True))
    exporter.clear()

    resumed = await _gated_team(["published it"]).resume(paused.run_id, store=store)
    assert resumed.ok
    events = await store.events(paused.run_id)
    spans = _by_step(exporter.get_finished_spans())
    # the plan and the first model call finished before the pause: no span again
    assert set(spans) == {
        "root",
        "root/task[t1]",
        gate,
        "root/task[t1]/model#1",
        "root/task[t2]",
        "root/task[t2]/model#0",
        "root/aggregate",
        "root/aggregate/model#0",
    }
    _assert_nested_as_traced(spans, events)
    assert _parent(spans["root/task[t1]/model#1"], spans) == "root/task[t1]"
    assert spans["root"].attributes is not None and spans["root"].attributes["podium.resumed"]
    for path in ("root/task[t1]", gate):
        span = spans[path]
        assert span.attributes is not None and span.attributes["podium.continued"] is True
        assert span.start_time == before[path].start_time == _started(events, path)
    (subtask_end,) = [e for e in events if e.kind is EventKind.SUBTASK_END and "t1" in e.path]
    assert spans["root/task[t1]"].end_time == int(subtask_end.ended_at * 1e9)
    assert spans["root/task[t1]"].attributes["podium.subtask.id"] == "t1"
    assert spans[gate].name == "execute_tool publish"
    assert "podium.continued" not in (spans["root/task[t2]"].attributes or {})


async def test_a_run_resumed_after_a_failed_call_nests_the_retry_in_its_subtask(
    otel: Any,
) -> None:
    exporter, _, _ = otel
    failing = [True]

    def w1(request: ModelRequest) -> str:
        if failing[0]:
            raise ProviderError("overloaded", provider="scripted", model="x", status=529)
        return "tides are daily"

    def team() -> Orchestrator:
        plan = plan_json(("t1", "w1", "look it up", ()), ("t2", "w2", "summarize", ("t1",)))
        model = ScriptedModel(
            {"lead": [plan, "final answer"], "w2": ["a summary"]}, name="scripted:priced"
        )
        return Orchestrator(
            planner=Agent("lead", model=model),
            workers=[
                Agent("w1", model=ScriptedModel(fn=w1, name="scripted:priced")),
                Agent("w2", model=model),
            ],
            name="crew",
        )

    store = MemoryStore()
    failed = await team().run("about tides", store=store)
    assert failed.stop_reason.value == "provider_failed"
    exporter.clear()
    failing[0] = False

    assert (await team().resume(failed.run_id, store=store)).ok
    events = await store.events(failed.run_id)
    spans = _by_step(exporter.get_finished_spans())
    assert "root/plan" not in spans and "root/plan/model#0" not in spans
    _assert_nested_as_traced(spans, events)
    retried = spans["root/task[t1]/model#0"]
    assert _parent(retried, spans) == "root/task[t1]"
    assert retried.attributes is not None
    assert retried.attributes["gen_ai.usage.output_tokens"] > 0
    assert retried.status.status_code is StatusCode.UNSET


async def test_a_fork_continues_the_steps_open_at_the_fork_point(otel: Any) -> None:
    exporter, _, _ = otel
    store = MemoryStore()
    original = await _team().run("about tides", store=store)
    exporter.clear()

    forked = await _team().fork(original.run_id, "root/task[t1]/model#1", store=store)
    assert forked.ok
    events = await store.events(forked.run_id)
    spans = _by_step(exporter.get_finished_spans())
    # the steps before the fork point are the original run's: no spans here
    copied = {"root/plan", "root/plan/model#0", "root/task[t1]/model#0"}
    assert not copied & set(spans) and "root/task[t1]/tool[search]#0" not in spans
    assert {"root/task[t1]", "root/task[t1]/model#1", "root/aggregate"} <= set(spans)
    _assert_nested_as_traced(spans, events)
    assert spans["root/task[t1]"].attributes is not None
    assert spans["root/task[t1]"].attributes["podium.continued"] is True
    assert spans["root/task[t1]"].attributes["podium.run_id"] == forked.run_id


def test_nothing_is_exported_by_default() -> None:
    assert not otel_requested({})
    assert not otel_requested({"OTEL_TRACES_EXPORTER": "none", "OTEL_SERVICE_NAME": "x"})
    assert not otel_requested({"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"})
    assert otel_requested({"OTEL_TRACES_EXPORTER": "console"})
    assert otel_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318"})
    Agent("solo", model=ScriptedModel(["hi"])).run_sync("x", store=MemoryStore())
    assert _listeners._factories == []
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)


def test_otel_env_turns_export_on_at_the_first_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_listeners, "_env_checked", False)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")
    Agent("solo", model=ScriptedModel(["hi"])).run_sync("x", store=MemoryStore())
    assert len(_listeners._factories) == 1
    uninstrument()  # shuts down the providers podium made, flushing the console exporter
    printed = capsys.readouterr().out
    assert '"name": "invoke_agent solo"' in printed and '"name": "chat demo"' in printed
