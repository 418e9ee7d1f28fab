"""OpenTelemetry spans and metrics from run events, following the GenAI conventions.

One `RunSpans` per run turns events into spans as they are recorded: the run
and every agent or team step is an ``invoke_agent`` span, every model call a
``chat`` span, every tool call an ``execute_tool`` span, nested by step path.
Start and end times are the events' own. Instant events (blackboard writes,
handoffs, plans, notices) become span events. Payloads are redacted before any
listener sees them, so nothing here needs to scrub again.

A resumed or forked run does not emit again the steps its log already has:
`RunSpans.replayed` is told them first, so that each step an earlier attempt
began and left open gets a continuation span (``podium.continued``) for the
new attempt's steps to nest under and for the step's end to close.

This module imports only the OpenTelemetry *API*; `podium.observe.instrument`
(in ``_otel_setup``) is what callers use.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from podium._engine._replay import UNFINISHED
from podium.events import Event, EventKind
from podium.observe._trace import mark_label

if TYPE_CHECKING:
    from opentelemetry.metrics import Counter, Histogram, Meter
    from opentelemetry.trace import Span, Tracer

__all__ = ["OtelInstruments", "RunSpans"]

_log = logging.getLogger("podium.observe.otel")

_TOKEN_BUCKETS = [4**i for i in range(14)]  # 1 ... 67M, as the conventions advise
_DURATION_BUCKETS = [0.01 * 2**i for i in range(14)]  # 10 ms ... 82 s
_OPENERS = {
    EventKind.RUN_START: EventKind.RUN_END,
    EventKind.RUN_RESUMED: EventKind.RUN_END,  # a resumed attempt: its own root span
    EventKind.SUBTASK_START: EventKind.SUBTASK_END,
    EventKind.STAGE_START: EventKind.STAGE_END,
    EventKind.AGENT_START: EventKind.AGENT_END,
    EventKind.MODEL_REQUEST: EventKind.MODEL_RESPONSE,
    EventKind.TOOL_CALL: EventKind.TOOL_RESULT,
}
_MARK_ATTRS = (
    "key", "version", "from", "to", "speaker", "code", "reason", "tool", "detail", "detector",
    "passed", "by",
)  # fmt: skip
#: A run paused for a human has not failed: neither it nor the steps it stopped are errors.
_PAUSES = frozenset({"waiting_approval", "waiting_input"})
_NOT_FAILED = _PAUSES | {"completed", None}
_ASKS = frozenset(
    {EventKind.APPROVAL_REQUEST, EventKind.INPUT_REQUEST, EventKind.APPROVAL_DECISION}
)
#: Marks whose ``reason`` holds a model's (or a reviewer's) own words: content, so opt-in.
_WORDED = frozenset({EventKind.HANDOFF, EventKind.VERIFICATION, EventKind.BLACKBOARD_STATUS})
_CALL_KINDS = frozenset(
    {
        EventKind.MODEL_REQUEST,
        EventKind.MODEL_RESPONSE,
        EventKind.TOOL_CALL,
        EventKind.TOOL_RESULT,
    }
)
_STEP_KINDS = frozenset({*_OPENERS, *_OPENERS.values()})


def _ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


def _left_open(events: Iterable[Event]) -> list[list[Event]]:
    """The steps below the root begun but never ended in `events`, in the order begun.

    Each is given by its opening events (a subtask's ``subtask_start`` and its
    agent's ``agent_start``, say), the first of which names its closer, as in
    `RunSpans._handle`. A model call that failed has no response yet: the
    resumed run calls it again, so it is open too.
    """
    open_steps: dict[str, list[Event]] = {}
    for e in events:
        if e.path == "root":  # the resumed run has a root span of its own
            continue
        begun = open_steps.get(e.path)
        if begun is None:
            if e.kind in _OPENERS:
                open_steps[e.path] = [e]
        elif e.kind is _OPENERS[begun[0].kind] and e.payload.get("status") not in UNFINISHED:
            del open_steps[e.path]  # ended (one cut short by a stop goes on when resumed)
        elif e.kind in _OPENERS:
            begun.append(e)
    return list(open_steps.values())


def _split_model(name: str) -> tuple[str, str]:
    provider, sep, model = name.partition(":")
    return (provider, model) if sep else ("", name)


class OtelInstruments:
    """The tracer, the three metric instruments, and whether to record content."""

    def __init__(self, tracer: Tracer, meter: Meter, *, capture_content: bool) -> None:
        self.tracer = tracer
        self.capture_content = capture_content
        self.token_usage: Histogram = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )
        self.duration: Histogram = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.cost: Counter = meter.create_counter(
            "podium.cost", unit="USD", description="Cost of model calls in US dollars"
        )


@dataclass(slots=True)
class _Open:
    span: Span
    closer: EventKind
    last: float
    failed: bool = False
    continued: bool = False  # begun by an earlier attempt of the run


class RunSpans:
    """Turns one run's events into spans and metrics, live; never raises."""

    def __init__(self, run_id: str, instruments: OtelInstruments) -> None:
        self.run_id = run_id
        self.ins = instruments
        self._open: dict[str, _Open] = {}
        self._models: dict[str, str] = {}  # model path -> requested model
        self._pausing = False  # a step waits for a human: the steps it stops did not fail
        self._continued: list[list[Event]] = []  # opened under the resumed run's root span

    def replayed(self, events: Iterable[Event]) -> None:
        """Learn the steps earlier attempts left open (called before a resumed run goes on).

        Each one gets a span once the resumed run's own root span opens.
        """
        try:
            self._continued = _left_open(events)
        except Exception:  # telemetry must never break a run
            _log.debug("OpenTelemetry export failed for the replayed events", exc_info=True)

    def __call__(self, event: Event) -> None:
        """Handle one event (the run listener)."""
        try:
            self._handle(event)
        except Exception:  # telemetry must never break a run
            _log.debug("OpenTelemetry export failed for %s", event.path, exc_info=True)

    def _handle(self, e: Event) -> None:
        current = self._open.get(e.path)
        if current is not None:
            current.last = max(current.last, e.ended_at)
        if e.kind in _OPENERS and current is None:
            current = self._start(e)
        if e.kind in _ASKS:  # until a decision comes, the run is pausing
            self._pausing = e.kind is not EventKind.APPROVAL_DECISION
        if e.kind is EventKind.ERROR:
            self._error(e)
        elif e.kind in _STEP_KINDS:
            if current is not None:
                self._describe(current.span, e)
        else:
            self._mark(e)
        if current is not None and e.kind is current.closer:
            self._finish(e, current)
        if e.kind is EventKind.RUN_END:
            for path in sorted(self._open, key=len, reverse=True):  # never closed: end them
                left = self._open.pop(path)
                # a continued step's own events are mostly replayed, not seen: it went on
                # until this attempt stopped
                end = max(left.last, e.ended_at) if left.continued else left.last
                left.span.end(end_time=_ns(end))

    def _parent(self, path: str) -> _Open | None:
        while "/" in path:
            path = path.rpartition("/")[0]
            if path in self._open:
                return self._open[path]
        return None

    def _start(self, e: Event) -> _Open:
        parent = self._parent(e.path) if e.path != "root" else None
        ctx = trace.set_span_in_context(parent.span) if parent else otel_context.get_current()
        attrs: dict[str, Any] = {"podium.run_id": self.run_id, "podium.step": e.path}
        if e.kind is EventKind.MODEL_REQUEST:
            model = str(e.payload.get("model", ""))
            provider, name = _split_model(model)
            span_name, kind = f"chat {name}", SpanKind.CLIENT
            attrs.update(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": name,
                    "gen_ai.agent.name": e.agent,
                }
            )
            if provider:
                attrs["gen_ai.provider.name"] = provider
            self._models[e.path] = model
        elif e.kind is EventKind.TOOL_CALL:
            tool = str(e.payload.get("tool", ""))
            span_name, kind = f"execute_tool {tool}", SpanKind.INTERNAL
            attrs.update(
                {
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": tool,
                    "gen_ai.tool.type": "function",
                    "gen_ai.agent.name": e.agent,
                }
            )
        else:
            span_name, kind = f"invoke_agent {e.agent}", SpanKind.INTERNAL
            attrs.update({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": e.agent})
        span = self.ins.tracer.start_span(
            span_name, context=ctx, kind=kind, attributes=attrs, start_time=_ns(e.started_at)
        )
        opened = self._open[e.path] = _Open(span=span, closer=_OPENERS[e.kind], last=e.ended_at)
        return opened

    def _describe(self, span: Span, e: Event) -> None:
        if e.kind in _CALL_KINDS:
            self._describe_call(span, e)
            return
        p = e.payload
        if e.kind is EventKind.AGENT_START:
            span.set_attribute("gen_ai.agent.name", e.agent)
            if p.get("role"):
                span.set_attribute("gen_ai.agent.description", str(p["role"]))
            if p.get("team"):
                span.set_attribute("podium.team.pattern", str(p["team"]))
        elif e.kind is EventKind.RUN_RESUMED:
            span.set_attribute("podium.resumed", True)
            self._continue()
        elif e.kind is EventKind.SUBTASK_START:
            span.set_attribute("podium.subtask.id", str(p.get("id", "")))
        elif e.kind is EventKind.STAGE_START:
            span.set_attribute("podium.stage", str(p.get("stage", "")))
        elif (
            e.kind is EventKind.AGENT_END
            and p.get("status") not in ("ok", "handoff", None)
            and not (self._pausing and p.get("status") == "stopped")
        ):
            span.set_status(Status(StatusCode.ERROR, f"agent {e.agent}: {p.get('status')}"))
        elif e.kind is EventKind.RUN_END:
            self._run_end(span, e)

    def _continue(self) -> None:
        """Open a span for each step an earlier attempt left open, outermost first."""
        for opened in self._continued:
            step = self._start(opened[0])
            step.continued = True
            step.span.set_attribute("podium.continued", True)
            for e in opened:
                self._describe(step.span, e)
        self._continued = []

    def _describe_call(self, span: Span, e: Event) -> None:
        p = e.payload
        content = self.ins.capture_content
        if e.kind is EventKind.MODEL_REQUEST:
            if p.get("max_tokens"):
                span.set_attribute("gen_ai.request.max_tokens", int(p["max_tokens"]))
            if content:
                messages = json.dumps(p.get("messages", []), ensure_ascii=False)
                span.set_attribute("gen_ai.input.messages", messages)
        elif e.kind is EventKind.MODEL_RESPONSE:
            self._model_response(span, e)
        elif e.kind is EventKind.TOOL_CALL:
            span.set_attribute("gen_ai.tool.call.id", str(p.get("call_id", "")))
            if content:
                span.set_attribute("gen_ai.tool.call.arguments", str(p.get("arguments", "")))
        else:
            if content:
                span.set_attribute("gen_ai.tool.call.result", str(p.get("result", "")))
            if not p.get("ok"):
                span.set_status(Status(StatusCode.ERROR, str(p.get("result", ""))[:500]))
                span.set_attribute("error.type", "tool_error")

    def _model_response(self, span: Span, e: Event) -> None:
        p = e.payload
        model = str(p.get("model") or self._models.get(e.path, ""))
        provider, name = _split_model(model)
        span.set_attribute("gen_ai.response.model", name)
        span.set_attribute("gen_ai.usage.input_tokens", e.input_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", e.output_tokens)
        span.set_attribute("podium.cost_usd", e.cost_usd)
        if p.get("finish_reason"):
            span.set_attribute("gen_ai.response.finish_reasons", [str(p["finish_reason"])])
        if self.ins.capture_content:
            parts: list[dict[str, Any]] = [{"type": "text", "content": p.get("text", "")}]
            parts += [{"type": "tool_call", **c} for c in p.get("tool_calls") or []]
            output = [{"role": "assistant", "parts": parts}]
            span.set_attribute("gen_ai.output.messages", json.dumps(output, ensure_ascii=False))
        requested = _split_model(self._models.get(e.path, model))[1]
        attrs = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": requested,
            "gen_ai.response.model": name,
        }
        self.ins.token_usage.record(e.input_tokens, {**attrs, "gen_ai.token.type": "input"})
        self.ins.token_usage.record(e.output_tokens, {**attrs, "gen_ai.token.type": "output"})
        self.ins.duration.record(e.latency_s, attrs)
        self.ins.cost.add(e.cost_usd, {**attrs, "gen_ai.agent.name": e.agent})

    def _run_end(self, span: Span, e: Event) -> None:
        p = e.payload
        total = (p.get("usage") or {}).get("total") or {}
        span.set_attribute("podium.stop_reason", str(p.get("stop_reason", "")))
        span.set_attribute("podium.total.input_tokens", int(total.get("input_tokens", 0)))
        span.set_attribute("podium.total.output_tokens", int(total.get("output_tokens", 0)))
        span.set_attribute("podium.total.cost_usd", float(total.get("cost_usd", 0.0)))
        if p.get("stop_reason") not in _NOT_FAILED:
            span.set_status(Status(StatusCode.ERROR, str(p.get("error") or p["stop_reason"])))

    def _error(self, e: Event) -> None:
        target = self._open.get(e.path) or self._parent(e.path)
        if target is None:
            return
        p = e.payload
        kind = str(p.get("error", "error"))
        target.span.set_attribute("error.type", kind)
        target.span.set_status(Status(StatusCode.ERROR, str(p.get("message", ""))[:500]))
        target.span.add_event(
            "exception",
            {"exception.type": kind, "exception.message": str(p.get("message", ""))},
            timestamp=_ns(e.ended_at),
        )
        target.failed = True
        model = self._models.get(e.path)
        if model is not None and e.path in self._open:  # a failed model call: its span ends here
            provider, name = _split_model(model)
            self.ins.duration.record(
                e.latency_s,
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": provider,
                    "gen_ai.request.model": name,
                    "error.type": kind,
                },
            )
            self._open.pop(e.path).span.end(end_time=_ns(e.ended_at))

    def _mark(self, e: Event) -> None:
        target = self._open.get(e.path) or self._parent(e.path)
        if target is None:
            return
        if e.kind in _WORDED and not self.ins.capture_content:
            e = replace(e, payload={k: v for k, v in e.payload.items() if k != "reason"})
        attrs: dict[str, Any] = {"podium.step": e.path, "podium.agent": e.agent}
        for key in _MARK_ATTRS:
            value = e.payload.get(key)
            if isinstance(value, str | int | float | bool):
                attrs[f"podium.{key}"] = value
        attrs["podium.summary"] = mark_label(e)[:500]
        target.span.add_event(f"podium.{e.kind}", attrs, timestamp=_ns(e.ended_at))

    def _finish(self, e: Event, current: _Open) -> None:
        self._open.pop(e.path, None)
        current.span.end(end_time=_ns(max(current.last, e.ended_at)))
