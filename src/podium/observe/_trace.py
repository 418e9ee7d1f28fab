"""The trace tree of a run, built from its event log alone.

Every step path becomes a node (the run, teams, agents, subtasks, stages, model
and tool calls); instant events (blackboard writes, handoffs, plans, notices,
security refusals, chat messages) become leaf *marks* under the step they
happened at. A node's tokens and cost are its own plus its children's, so the
root's totals equal the run's usage total.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from podium.events import Event, EventKind
from podium.observe._trace_nodes import Trace, TraceNode, mark_label

__all__ = ["Trace", "TraceNode", "build_trace", "mark_label"]

_SPAN_KINDS = frozenset(
    {
        EventKind.RUN_START,
        EventKind.RUN_END,
        EventKind.AGENT_START,
        EventKind.AGENT_END,
        EventKind.MODEL_REQUEST,
        EventKind.MODEL_RESPONSE,
        EventKind.TOOL_CALL,
        EventKind.TOOL_RESULT,
        EventKind.SUBTASK_START,
        EventKind.SUBTASK_END,
        EventKind.STAGE_START,
        EventKind.STAGE_END,
        EventKind.ERROR,
    }
)
# A step that is several things at once (a subtask done by a team) shows the first.
_KIND_ORDER = ("run", "subtask", "stage", "team", "agent", "model", "tool")


def _segment(path: str, parent: str) -> str:
    if parent and path.startswith(parent + "/"):
        return path[len(parent) + 1 :]
    return path.rsplit("/", 1)[-1]


def _apply(node: TraceNode, e: Event) -> None:
    p = e.payload
    kind = e.kind
    if kind is EventKind.RUN_START:
        node.roles.add("run")
        node.name = str(p.get("runnable") or e.agent)
    elif kind is EventKind.RUN_END:
        node.status = str(p.get("stop_reason") or "completed")
        if p.get("error"):
            node.error = str(p["error"])
    elif kind is EventKind.AGENT_START:
        node.roles.add("team" if "team" in p else "agent")
        node.team = str(p.get("team", node.team))
        node.agent = e.agent
    elif kind in (EventKind.MODEL_REQUEST, EventKind.MODEL_RESPONSE):
        node.roles.add("model")
        node.model = str(p.get("model") or node.model)
        if kind is EventKind.MODEL_RESPONSE:
            node.self_input_tokens += e.input_tokens
            node.self_output_tokens += e.output_tokens
            node.self_cost_usd += e.cost_usd
            node.model_calls += 1
    elif kind in (EventKind.TOOL_CALL, EventKind.TOOL_RESULT):
        node.roles.add("tool")
        node.tool = str(p.get("tool") or node.tool)
    elif kind is EventKind.SUBTASK_START:
        node.roles.add("subtask")
        node.subtask = str(p.get("id", ""))
    elif kind is EventKind.STAGE_START:
        node.roles.add("stage")
        node.detail = f"stage {p.get('stage')} attempt {p.get('attempt', 0)}"
    _apply_status(node, e)


def _apply_status(node: TraceNode, e: Event) -> None:
    p = e.payload
    kind = e.kind
    if kind is EventKind.ERROR:
        node.status = "error"
        node.error = f"{p.get('error', 'error')}: {p.get('message', '')}"
        return
    if node.status == "error" or "run" in node.roles:
        return  # an error sticks; the run's status comes from run_end only
    if kind is EventKind.AGENT_END:
        node.status = str(p.get("status", "ok"))
    elif kind in (EventKind.MODEL_RESPONSE, EventKind.SUBTASK_END):
        node.status = "ok"
    elif kind is EventKind.STAGE_END:
        node.status = "check_failed" if p.get("check") == "failed" else "ok"
    elif kind is EventKind.TOOL_RESULT:
        node.status = "ok" if p.get("ok") else "error"
        if not p.get("ok"):
            node.error = str(p.get("result", ""))[:300]


def _finish(node: TraceNode, finished: bool) -> None:
    """Post-order: totals, end times, kinds, and statuses of unfinished steps."""
    for child in node.children:
        _finish(child, finished)
    node.kind = next((k for k in _KIND_ORDER if k in node.roles), node.kind)
    node.input_tokens = node.self_input_tokens
    node.output_tokens = node.self_output_tokens
    node.cost_usd = node.self_cost_usd
    for child in node.children:
        node.input_tokens += child.input_tokens
        node.output_tokens += child.output_tokens
        node.cost_usd += child.cost_usd
        node.model_calls += child.model_calls
        node.start = min(node.start, child.start)
        node.end = max(node.end, child.end)
    if not node.status:  # a group: as its steps went
        statuses = {c.status for c in node.children if not c.mark}
        node.status = next((s for s in ("error", "running") if s in statuses), "ok")
    if finished and node.status == "running":
        node.status = "incomplete"


def _mark_critical(node: TraceNode) -> None:
    """Mark the steps the wall time waited on, walking back from the one that ended last.

    Each step's predecessor is the latest-ending sibling that finished before it
    started: sequential steps are all critical; of parallel ones, the last to end.
    On a clock that did not move between steps (equal times), the one recorded
    earlier comes before: the walk always goes back, so it ends.
    """
    node.critical = True
    steps = [c for c in node.children if not c.mark]
    current = max(steps, key=lambda c: (c.end, c.seq), default=None)
    while current is not None:
        _mark_critical(current)
        start = (current.start, current.seq)
        before = [c for c in steps if (c.end, c.seq) < start]
        current = max(before, key=lambda c: (c.end, c.seq), default=None)


def _add_groups(nodes: dict[str, TraceNode], root: TraceNode) -> None:
    """Nodes for path prefixes that have children but no events of their own.

    E.g. an orchestrator's ``root/replan[1]``, which groups the second plan,
    its subtasks and its answer.
    """
    for node in sorted(nodes.values(), key=lambda n: n.seq):
        path = node.parent_path
        while path.startswith(root.path + "/") and path not in nodes:
            nodes[path] = TraceNode(
                path=path,
                name=path.rpartition("/")[2],
                status="",
                start=node.start,
                end=node.end,
                seq=node.seq,
                parent_path=path.rpartition("/")[0],
            )
            path = path.rpartition("/")[0]


def _attach(nodes: dict[str, TraceNode], node: TraceNode, root: TraceNode) -> None:
    parent_path = node.parent_path
    while parent_path and parent_path not in nodes:
        parent_path = parent_path.rpartition("/")[0]
    parent = nodes.get(parent_path, root)
    if parent is not node:
        parent.children.append(node)


def build_trace(events: Iterable[Event]) -> Trace:
    """The trace tree of a run's events (in log order); works on unfinished runs too."""
    nodes: dict[str, TraceNode] = {}
    marks: list[TraceNode] = []
    run_id = ""
    finished = False
    usage: dict[str, Any] = {}
    for e in events:
        run_id = run_id or e.run_id
        node = nodes.get(e.path)
        if node is None and e.kind in _SPAN_KINDS:
            node = nodes[e.path] = TraceNode(
                path=e.path,
                name=_segment(e.path, e.parent),
                agent=e.agent,
                start=e.started_at,
                end=e.ended_at,
                seq=e.seq,
                parent_path=e.parent,
            )
        if e.kind is EventKind.RUN_END:
            finished = True
            usage = dict(e.payload.get("usage") or {})
        elif e.kind is EventKind.RUN_RESUMED and "root" in nodes:
            finished = False  # a paused or stopped run goes on: until its next run_end
            nodes["root"].status, nodes["root"].error = "running", ""
        if e.kind in _SPAN_KINDS and node is not None:
            node.start = min(node.start, e.started_at)
            node.end = max(node.end, e.ended_at)
            _apply(node, e)
        else:
            marks.append(
                TraceNode(
                    path=e.path,
                    name=mark_label(e),
                    kind=str(e.kind),
                    agent=e.agent,
                    status="ok",
                    start=e.started_at,
                    end=e.ended_at,
                    seq=e.seq,
                    parent_path=e.path,
                    mark=True,
                )
            )
    if not nodes:
        return Trace(run_id=run_id, root=None, finished=finished, usage=usage)
    root = nodes.get("root") or min(nodes.values(), key=lambda n: n.seq)
    _add_groups(nodes, root)
    for node in sorted(nodes.values(), key=lambda n: n.seq):
        if node is not root:
            _attach(nodes, node, root)
    for mark in marks:
        _attach(nodes, mark, root)
    for node in (*nodes.values(), *marks):
        node.children.sort(key=lambda c: c.seq)
    _finish(root, finished)
    _mark_critical(root)
    return Trace(run_id=run_id, root=root, finished=finished, usage=usage)
