"""Run-wide state and the step-scoped context handed to every runnable."""

from __future__ import annotations

import asyncio
import functools
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from typing import Any

from podium._engine._replay import ReplayLog
from podium._engine._signals import GuardStop
from podium.errors import StoreError
from podium.events import Event, EventKind, make_event
from podium.guards._budget import Budget, BudgetLedger
from podium.guards._limits import Limits, LoopPolicy
from podium.memory._blackboard import Blackboard, Entry, EntryStatus
from podium.models._base import Usage
from podium.observe._redact import Redactor
from podium.result import AgentUsage, RunUsage, StopReason
from podium.store._base import RunStore

__all__ = [
    "MAX_TEXT_CHARS",
    "Listener",
    "Recorder",
    "RunState",
    "StepContext",
    "Task",
    "as_text",
    "bound",
    "make_task",
]

#: Longest model output or tool result kept, in characters; longer text is cut
#: and ends with an explicit marker, in the store and in the next prompt.
MAX_TEXT_CHARS = 32_000

Listener = Callable[[Event], None]


def bound(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """`text`, cut to `limit` characters with a visible marker when longer."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... truncated by podium: {len(text)} characters, first {limit} kept]"


def as_text(value: Any) -> str:
    """An output as text: JSON for pydantic models, ``str()`` for anything else."""
    if hasattr(value, "model_dump_json"):
        return str(value.model_dump_json())
    return str(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    """What a runnable is asked to do.

    Attributes:
        text: the instructions.
        inputs: named run inputs, shown to the agent.
        context: labelled results the task builds on (e.g. finished subtasks).
        memory: blackboard entries the agent declared it reads.
        feedback: what was wrong with a previous attempt, when retrying.
    """

    text: str
    inputs: Mapping[str, str] = field(default_factory=dict)
    context: tuple[tuple[str, str], ...] = ()
    memory: tuple[Entry, ...] = ()
    feedback: str = ""


_set_text, _set_inputs, _set_context, _set_memory, _set_feedback = (
    Task.__dict__[name].__set__ for name in ("text", "inputs", "context", "memory", "feedback")
)


def make_task(
    text: str,
    inputs: Mapping[str, str],
    context: tuple[tuple[str, str], ...] = (),
    memory: tuple[Entry, ...] = (),
    feedback: str = "",
) -> Task:
    """`Task(...)`, built faster than by its keyword ``__init__``.

    Every step makes one; the frozen dataclass's ``__init__`` costs about twice as
    much. tests/test_events.py checks that both agree.
    """
    task: Task = object.__new__(Task)
    _set_text(task, text)
    _set_inputs(task, inputs)
    _set_context(task, context)
    _set_memory(task, memory)
    _set_feedback(task, feedback)
    return task


@functools.cache
def _append_traits(store_type: type) -> tuple[bool, bool, bool]:
    """(ordered appends, append_nowait, commit_soon), as the class implementing `append` has them.

    A subclass that overrides `append` (say, to add a delay) loses the promises.
    """
    for cls in store_type.__mro__:
        if "append" in cls.__dict__:
            ordered = bool(cls.__dict__.get("ordered_appends", False))
            nowait = ordered and "append_nowait" in cls.__dict__
            return ordered, nowait, nowait and "commit_soon" in cls.__dict__
    return False, False, False


class Recorder:
    """Numbers events, tells listeners, and writes them to the store in batches.

    `record` is cheap and synchronous. `write_soon` hands the events emitted so
    far to the store without waiting (stores with ordered appends only), and
    `flush` returns once they are durable. The engine writes soon after every
    model call and flushes before anything leaves the run: a tool with side
    effects, an approval or question, the run's end. An ordered store commits
    in call order, so a crash leaves a prefix of the log, which resumes.
    """

    def __init__(
        self,
        store: RunStore,
        run_id: str,
        listeners: tuple[Listener, ...] = (),
        redactor: Redactor | None = None,
        replay: ReplayLog | None = None,
    ):
        self.store = store
        self.run_id = run_id
        self.listeners = listeners
        self.redactor = redactor
        self.replay = replay
        self._seq = replay.next_seq if replay is not None else 0
        self._pending: list[Event] = []
        self._inflight: set[asyncio.Future[Any]] = set()
        self._failure: BaseException | None = None
        self._handover_due = False
        self._lost = False  # another process owns the run now: nothing more is written
        # stores whose appends complete in the order they were called (and are not
        # lost if the caller is cancelled) take a fast path in `flush`; those with
        # `append_nowait` take writes without waiting, and a store that may hold
        # them back is told (`commit_soon`) when someone waits for them
        ordered, nowait, commit_soon = _append_traits(type(store))
        self._ordered = ordered
        self._nowait: Callable[[list[Event]], asyncio.Future[Any] | None] | None = (
            store.append_nowait if nowait else None  # type: ignore[attr-defined]
        )
        self._commit_soon: Callable[[], None] | None = (
            store.commit_soon if commit_soon else None  # type: ignore[attr-defined]
        )

    def record(
        self,
        kind: EventKind,
        path: str,
        parent: str,
        agent: str,
        started_at: float | None,
        payload: dict[str, Any] | None,
        usage: Usage | None,
    ) -> Event:
        """Record an event that ends now (started at `started_at`, if given).

        Positional arguments: every step records several events (the hot path).
        """
        now = time.time()
        if self.replay is not None and self.replay.suppress(path, kind):
            # already in the log: not written twice
            return make_event(self.run_id, -1, path, parent, agent, kind, now, now, {})
        if payload is None:
            payload = {}
        else:
            redactor = self.redactor
            if redactor is not None and payload and redactor.might_contain_obj(payload):
                payload = redactor.scrub_obj(payload)
        event = make_event(
            self.run_id,
            self._seq,
            path,
            parent,
            agent,
            kind,
            now if started_at is None else started_at,
            now,
            payload,
        )
        if usage is not None:
            event.input_tokens = usage.input_tokens
            event.output_tokens = usage.output_tokens
            event.cost_usd = usage.cost_usd
        self._seq += 1
        self._pending.append(event)
        for listener in self.listeners:
            listener(event)
        return event

    @property
    def in_order(self) -> bool:
        """True when the store takes writes without waiting and commits them in order."""
        return self._nowait is not None

    def take(self) -> list[Event]:
        """The pending events, handed over to the caller to write (see `Lease.finish`)."""
        batch, self._pending = self._pending, []
        return batch

    def write_soon(self) -> bool:
        """Have the pending events handed to the store soon, without waiting for them.

        The hand-over happens once the steps running now yield to the event loop,
        so steps that emit together share one write. Returns False when the store
        cannot take writes so: then only `flush` writes them.
        """
        if self._nowait is None:
            return not self._pending
        if self._pending and not self._handover_due:
            self._handover_due = True
            asyncio.get_running_loop().call_soon(self._hand_over)
        return True

    def lose(self) -> None:
        """Write nothing more: the run's lease was lost to another process.

        Events not yet handed to the store are dropped: written now, they would
        collide with the new owner's.
        """
        self._lost = True
        self._pending = []

    def _hand_over(self) -> bool:
        """Hand the pending events to the store now; False if it cannot take them so."""
        self._handover_due = False
        if not self._pending:
            return True
        if self._lost:
            self._pending = []
            return True
        if self._nowait is None:
            return False
        written = self._nowait(self._pending)
        if written is None:
            return False
        self._pending = []
        self.track(written)
        return True

    def track(self, written: asyncio.Future[Any]) -> None:
        """Count a write handed to the store without waiting among those in flight.

        Its failure, if any, is raised by the next `flush` or `settle`.
        """
        self._inflight.add(written)
        if written.done():
            self._written(written)
        else:
            written.add_done_callback(self._written)

    def _written(self, write: asyncio.Future[Any]) -> None:
        """A write handed over by `write_soon` or `flush` ended (called once per write)."""
        if write not in self._inflight:
            return
        self._inflight.discard(write)
        if not write.cancelled() and write.exception() is not None and self._failure is None:
            self._failure = write.exception()  # raised by the next flush or settle

    async def settle(self) -> None:
        """Wait for appends already in flight (not for pending events).

        Raises the store's error if one of them failed.
        """
        if self._inflight:
            if self._commit_soon is not None:
                self._commit_soon()
            waiting = set(self._inflight)
            # wait(), not gather(): a cancelled step must not cancel others' writes
            await asyncio.wait(waiting)
            for write in waiting:
                self._written(write)
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    async def flush(self) -> None:
        """Write every pending event; returns once everything emitted so far is durable.

        Parallel steps share this recorder, so a batch may hold another step's
        events: flush waits for every append in flight, not only its own.
        """
        if self._pending and not self._hand_over():
            batch, self._pending = self._pending, []
            if self._ordered:
                await self._append_ordered(batch)
            else:
                self.track(asyncio.ensure_future(self.store.append(batch)))
        await self.settle()

    async def _append_ordered(self, batch: list[Event]) -> None:
        """Append with a plain await (no task): cheaper, and safe for ordered stores.

        The store completes appends in call order, so when ours is done every
        earlier one is too; flushes with nothing of their own wait on our marker.
        """
        marker: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inflight.add(marker)
        try:
            await self.store.append(batch)
        except Exception as exc:
            marker.set_exception(exc)
            raise
        except BaseException:
            marker.set_exception(
                StoreError(
                    "a step was cancelled while its events were being written; whether "
                    "they were stored is unknown"
                )
            )
            raise
        else:
            marker.set_result(None)
        finally:
            self._inflight.discard(marker)
            if marker.done() and not marker.cancelled():
                marker.exception()  # retrieved here, so an unawaited failure is not logged


@dataclass(slots=True, kw_only=True)
class RunState:
    """Shared by every step of one run."""

    run_id: str
    recorder: Recorder
    usage: RunUsage = field(default_factory=RunUsage)
    models: set[str] = field(default_factory=set)
    offline_only: bool = True
    max_concurrency: int = 8
    blackboard: Blackboard = field(default_factory=Blackboard)
    limits: Limits = field(default_factory=Limits)
    loops: LoopPolicy = field(default_factory=LoopPolicy)
    #: recent tool outcomes (step path, tool, returned value or exception), kept so
    #: a reviewer's verdict can be compared with the evidence it relied on
    approver: Any = None  # podium.approvals.Approver, for in-process decisions
    tool_log: deque[tuple[str, str, Any]] = field(default_factory=lambda: deque(maxlen=2_000))
    #: the budget share of each member (agent or team) under each enclosing ledger,
    #: kept for the whole run: a share caps every invocation of its member together
    shares: dict[tuple[int, int, Budget], BudgetLedger] = field(default_factory=dict)

    def add_usage(self, agent: str, model: str, offline: bool, usage: Usage) -> None:
        """Count one model call for `agent`."""
        self.models.add(model)
        self.offline_only = self.offline_only and offline
        per_agent, per_model = self.usage.per_agent, self.usage.per_model
        for bucket in (
            self.usage.total,
            per_agent.get(agent) or per_agent.setdefault(agent, AgentUsage()),
            per_model.get(model) or per_model.setdefault(model, AgentUsage()),
        ):
            bucket.model_calls += 1
            bucket.input_tokens += usage.input_tokens
            bucket.output_tokens += usage.output_tokens
            bucket.cost_usd += usage.cost_usd

    def add_wall_time(self, agent: str, seconds: float) -> None:
        """Add time spent inside `agent`."""
        per_agent = self.usage.per_agent
        (per_agent.get(agent) or per_agent.setdefault(agent, AgentUsage())).wall_time_s += seconds


@dataclass(frozen=True, slots=True, kw_only=True)
class StepContext:
    """Where a runnable runs: the run state plus its own step path.

    Step paths are deterministic: they depend only on the structure of the team
    and the order of steps inside one agent, never on timing.
    """

    state: RunState
    path: str = "root"
    parent: str = ""
    agent: str = ""
    depth: int = 0
    ledger: BudgetLedger | None = None

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self.state.run_id

    def child(self, segment: str, *, agent: str | None = None, nest: bool = False) -> StepContext:
        """A context for a sub-step at ``path/segment``."""
        return _step_context(
            self.state,
            f"{self.path}/{segment}",
            self.path,
            self.agent if agent is None else agent,
            self.depth + 1 if nest else self.depth,
            self.ledger,
        )

    def as_agent(self, agent: str) -> StepContext:
        """The same step, owned by `agent`."""
        return _step_context(self.state, self.path, self.parent, agent, self.depth, self.ledger)

    def scoped(self, owner: object, budget: Budget | None) -> StepContext:
        """This context with `owner`'s own budget share (if it has one) in force.

        A share is made once per run (within each enclosing ledger): it caps every
        invocation of `owner` together, not each one afresh.
        """
        if budget is None or budget.empty:
            return self
        if self.ledger is not None and self.ledger.owner == id(owner):
            return self
        key = (id(self.ledger), id(owner), budget)
        ledger = self.state.shares.get(key)
        if ledger is None:
            name = getattr(owner, "name", "share")
            if self.ledger is None:
                ledger = BudgetLedger(budget=budget, name=name, owner=id(owner))
            else:
                ledger = self.ledger.child(budget, name, owner=id(owner))
            self.state.shares[key] = ledger
        return dc_replace(self, ledger=ledger)

    def check_depth(self) -> None:
        """Stop with ``max_depth`` when this team is nested deeper than allowed."""
        limit = self.state.limits.max_depth
        if self.depth > limit:
            raise GuardStop(
                StopReason.MAX_DEPTH,
                f"team nested {self.depth} levels deep; the limit is {limit}",
                path=self.path,
                agent=self.agent,
            )

    def write(
        self,
        key: str,
        value: Any,
        *,
        allowed: Collection[str] | None,
        sources: Iterable[str] = (),
        expected_version: int | None = None,
    ) -> Entry:
        """Write `key` on the run's blackboard as this step's agent; recorded as an event.

        Raises:
            BlackboardError: `key` is not among `allowed` (the agent's declared writes).
            BlackboardConflict: compare-and-set failed.
        """
        entry = self.state.blackboard.write(
            key,
            value,
            author=self.agent,
            step=self.path,
            allowed=allowed,
            sources=sources,
            expected_version=expected_version,
        )
        self.emit(
            EventKind.BLACKBOARD_WRITE,
            payload={
                "key": key,
                "version": entry.version,
                "value": bound(entry.text()),
                "sources": list(entry.sources),
                "status": str(entry.status),
            },
        )
        return entry

    def set_status(self, key: str, status: EntryStatus, *, reason: str) -> Entry:
        """Mark `key` verified or refuted as this step's agent; recorded as an event."""
        entry = self.state.blackboard.set_status(key, status, reason=reason, by=self.agent)
        self.emit(
            EventKind.BLACKBOARD_STATUS,
            payload={"key": key, "version": entry.version, "status": str(status), "reason": reason},
        )
        return entry

    def emit(
        self,
        kind: EventKind,
        *,
        path: str | None = None,
        started_at: float | None = None,
        payload: dict[str, Any] | None = None,
        usage: Usage | None = None,
    ) -> Event:
        """Record an event at this step (or at a sub-path of it)."""
        if path is None:
            path, parent = self.path, self.parent
        else:
            parent = self.path
        recorder = self.state.recorder
        return recorder.record(kind, path, parent, self.agent, started_at, payload, usage)


# Every step makes a context or two: set the slots directly, not through the
# frozen dataclass's keyword __init__ (about half the cost). A test checks that
# this sets every field.
_set_state, _set_path, _set_parent, _set_agent, _set_depth, _set_ledger = (
    StepContext.__dict__[name].__set__
    for name in ("state", "path", "parent", "agent", "depth", "ledger")
)


def _step_context(
    state: RunState, path: str, parent: str, agent: str, depth: int, ledger: BudgetLedger | None
) -> StepContext:
    ctx: StepContext = object.__new__(StepContext)
    _set_state(ctx, state)
    _set_path(ctx, path)
    _set_parent(ctx, parent)
    _set_agent(ctx, agent)
    _set_depth(ctx, depth)
    _set_ledger(ctx, ledger)
    return ctx
