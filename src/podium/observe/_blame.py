"""Blame: trace an output back, through the run log, to where it originated.

Three questions, each a pure function of a run's events:

- `blame_key`: where did a blackboard entry come from? Its write, the model
  response or tool result under the writing step that produced it, and the same
  for every entry it cites as a source, transitively.
- `blame_final`: where did each claim of the final output come from? The
  earliest model response, tool result or run input containing it (fuzzy
  matching, see `podium.observe._textmatch`), and the hops that carried it on.
- `blame_error`: where did the run fail? The first error, the failed tool call
  that caused it (if any), and the agents, subtasks, stages and teams around it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from podium.events import Event, EventKind
from podium.observe._blame_model import (
    ClaimBlame,
    Enclosure,
    EntryBlame,
    ErrorBlame,
    FinalBlame,
    Hop,
    event_text,
    hop,
)
from podium.observe._textmatch import MATCH_THRESHOLD, Normalized, claims, normalize, score
from podium.observe._trace import TraceNode, build_trace

__all__ = [
    "ClaimBlame",
    "Enclosure",
    "EntryBlame",
    "ErrorBlame",
    "FinalBlame",
    "Hop",
    "blame_error",
    "blame_final",
    "blame_key",
]

_ORIGINS = (EventKind.MODEL_RESPONSE, EventKind.TOOL_RESULT)
_CARRIER_RANK = {  # when one step carried a claim several ways, show the most telling
    EventKind.SUBTASK_END: 0,
    EventKind.STAGE_END: 1,
    EventKind.HANDOFF: 2,
    EventKind.CHAT_MESSAGE: 3,
    EventKind.BLACKBOARD_WRITE: 4,
}
_WAITING = ("waiting_approval", "waiting_input")
_NEAR_BEST = 0.1  # origins scoring this close to the best match count as equally good


@dataclass(slots=True)
class _Texts:
    """Normalized event texts, computed once per event."""

    cache: dict[tuple[int, str], Normalized] = field(default_factory=dict)

    def of(self, e: Event, which: str = "") -> Normalized:
        key = (e.seq, which)
        if key not in self.cache:
            text = str(e.payload.get("inputs", {}).get(which, "")) if which else event_text(e)
            self.cache[key] = normalize(text)
        return self.cache[key]


# ---- blackboard entries ---------------------------------------------------------


def _latest_write(events: list[Event], key: str, before: int) -> Event | None:
    found = None
    for e in events:
        if e.seq >= before:
            break
        if e.kind is EventKind.BLACKBOARD_WRITE and e.payload.get("key") == key:
            found = e
    return found


def _producer(events: list[Event], write: Event, texts: _Texts) -> Hop | None:
    """The model response or tool result under the writing step that produced the value."""
    value = texts.of(write)
    best: tuple[float, int, Event] | None = None
    for e in events:
        if e.seq >= write.seq:
            break
        if e.kind in _ORIGINS and e.path.startswith(write.path + "/") and event_text(e).strip():
            candidate = (score(value, texts.of(e)), e.seq, e)
            if best is None or candidate[:2] >= best[:2]:
                best = candidate
    if best is None:
        return None
    return hop(best[2], score=best[0])


def _entry(events: list[Event], write: Event, texts: _Texts, seen: set[str]) -> EntryBlame:
    key = str(write.payload.get("key"))
    seen = seen | {key}
    sources = []
    for source in write.payload.get("sources") or []:
        earlier = _latest_write(events, str(source), write.seq)
        if earlier is not None and str(source) not in seen:
            sources.append(_entry(events, earlier, texts, seen))
    return EntryBlame(
        key=key,
        version=int(write.payload.get("version", 0)),
        write=hop(write),
        producer=_producer(events, write, texts),
        sources=sources,
    )


def blame_key(events: list[Event], key: str) -> EntryBlame:
    """The lineage of blackboard entry `key` (its latest version).

    Raises:
        LookupError: the run never wrote `key`.
    """
    write = _latest_write(events, key, before=1 << 62)
    if write is None:
        written = sorted(
            {str(e.payload.get("key")) for e in events if e.kind is EventKind.BLACKBOARD_WRITE}
        )
        raise LookupError(
            f"the run wrote no blackboard entry {key!r}; "
            f"its entries: {', '.join(written) or 'none'}"
        )
    return _entry(events, write, _Texts(), set())


# ---- the final output -----------------------------------------------------------


def _origin_candidates(events: list[Event], texts: _Texts) -> Iterator[tuple[Event, str]]:
    for e in events:
        if e.kind is EventKind.RUN_START:
            yield e, ""
            for name in e.payload.get("inputs") or {}:
                yield e, str(name)
        elif e.kind in _ORIGINS:
            yield e, ""


def _carriers(
    events: list[Event], claim: Normalized, after: int, before: int, texts: _Texts
) -> list[Hop]:
    """Events between origin and final output that passed the claim on, latest first."""
    by_path: dict[str, tuple[int, Hop]] = {}
    hops: list[Hop] = []
    for e in events:
        if not after < e.seq < before:
            continue
        rank = -1 if e.kind in _ORIGINS else _CARRIER_RANK.get(e.kind)
        if rank is None:
            continue
        found = score(claim, texts.of(e))
        if found < MATCH_THRESHOLD:
            continue
        if rank < 0:
            hops.append(hop(e, score=found))
        elif e.path not in by_path or rank < by_path[e.path][0]:
            by_path[e.path] = (rank, hop(e, score=found))
    hops.extend(h for _, h in by_path.values())
    return sorted(hops, key=lambda h: h.seq, reverse=True)


def _blame_claim(events: list[Event], text: str, final: Event, texts: _Texts) -> ClaimBlame:
    claim = normalize(text)
    scored = [
        (score(claim, texts.of(e, which)), e, which)
        for e, which in _origin_candidates(events, texts)
        if e.seq < final.seq
    ]
    best = max((s for s, _, _ in scored), default=0.0)
    final_hop = hop(final, focus=text)
    if best < MATCH_THRESHOLD:
        return ClaimBlame(claim=text, origin=None, hops=[final_hop])
    floor = max(MATCH_THRESHOLD, best - _NEAR_BEST)
    found, origin_event, which = min(
        ((s, e, w) for s, e, w in scored if s >= floor), key=lambda x: x[1].seq
    )
    origin = hop(origin_event, score=found, focus=text, run_input=which)
    middle = _carriers(events, claim, origin_event.seq, final.seq, texts)
    return ClaimBlame(claim=text, origin=origin, hops=[final_hop, *middle, origin])


def blame_final(events: list[Event]) -> FinalBlame:
    """Where each claim (sentence or bullet) of the run's final output came from.

    Raises:
        LookupError: the run has not finished, or has no output.
    """
    final = next((e for e in reversed(events) if e.kind is EventKind.RUN_END), None)
    output = str(final.payload.get("output") or "") if final else ""
    if final is None or not output.strip():
        raise LookupError("the run has no final output (still running, or it failed)")
    texts = _Texts()
    return FinalBlame(
        output=output, claims=[_blame_claim(events, c, final, texts) for c in claims(output)]
    )


# ---- the first error ------------------------------------------------------------


def _ancestry(root: TraceNode, path: str) -> list[TraceNode]:
    """Nodes from the root down to the step at `path` (or its nearest recorded ancestor)."""
    chain = [root]
    while True:
        nxt = next(
            (
                c
                for c in chain[-1].children
                if not c.mark and (path == c.path or path.startswith(c.path + "/"))
            ),
            None,
        )
        if nxt is None:
            return chain
        chain.append(nxt)


def _enclosure(node: TraceNode) -> Enclosure:
    return Enclosure(
        path=node.path,
        kind=node.kind,
        name=node.name,
        agent=node.agent,
        team=node.team,
        subtask=node.subtask,
    )


def _first_failure(events: list[Event]) -> Event | None:
    """The first error event, else the first guard stop (a wait for a human is neither)."""
    error = next((e for e in events if e.kind is EventKind.ERROR), None)
    stops = (
        e
        for e in events
        if e.kind is EventKind.GUARD_STOP and e.payload.get("reason") not in _WAITING
    )
    return error or next(stops, None)


def _cause(events: list[Event], failure: Event, scope: str) -> Event | None:
    """The last failed or refused tool call under `scope` before `failure`."""
    found = None
    for e in events:
        if e.seq >= failure.seq:
            break
        under = e.path.startswith(scope + "/")
        failed = (e.kind is EventKind.TOOL_RESULT and not e.payload.get("ok")) or (
            e.kind is EventKind.SECURITY
        )
        if under and failed:
            found = e
    return found


def blame_error(events: list[Event]) -> ErrorBlame | None:
    """The first error (or guard stop) of the run and where it sits; None if there is none."""
    failure = _first_failure(events)
    if failure is None:
        return None
    trace = build_trace(events)
    assert trace.root is not None
    failing = _ancestry(trace.root, failure.path)[-1]
    scope = failing.path
    if failing.kind in ("model", "tool"):
        scope = scope.rpartition("/")[0]
    cause = _cause(events, failure, scope)
    blamed = cause.path if cause is not None else failure.path
    chain = _ancestry(trace.root, blamed)
    p = failure.payload
    stop = failure.kind is EventKind.GUARD_STOP
    kind = str(p.get("reason") if stop else p.get("error")) or "error"
    owner = str(p.get("agent") or failure.agent) if stop else failure.agent
    return ErrorBlame(
        step=blamed,
        agent=cause.agent if cause is not None else owner,
        error_type=kind,
        code=kind if stop else str(p.get("code") or ""),
        message=str(p.get("detail" if stop else "message") or ""),
        surfaced=hop(failure),
        cause=hop(cause) if cause is not None else None,
        enclosing=[_enclosure(n) for n in reversed(chain) if n.path != blamed],
        teams=[n.agent for n in reversed(chain) if "team" in n.roles],
    )
