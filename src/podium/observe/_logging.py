"""Standard `logging` for podium: a quiet ``podium`` logger tree and one line per event.

Everything logs under ``podium`` (``podium.events``, ``podium.models``, ...),
which has a `logging.NullHandler`, so nothing is printed unless the program (or
``podium -v``) configures logging. Each event is logged on ``podium.events`` at
INFO (errors, guard stops and security refusals at WARNING) with structured
fields in the record's ``extra``: ``run_id``, ``step``, ``agent``, ``kind``,
``seq``, ``input_tokens``, ``output_tokens``, ``cost_usd``. At DEBUG the line
also shows the payload.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable

from podium.events import Event, EventKind

__all__ = ["configure_cli_logging", "event_logger"]

logging.getLogger("podium").addHandler(logging.NullHandler())
_events = logging.getLogger("podium.events")
_PAYLOAD_CHARS = 300
_WARN = frozenset({EventKind.ERROR, EventKind.GUARD_STOP, EventKind.SECURITY})


def _detail(e: Event) -> str:
    p = e.payload
    if e.kind is EventKind.MODEL_RESPONSE:
        tokens = f"{e.input_tokens}+{e.output_tokens}"
        return f" model={p.get('model')} tokens={tokens} cost=${e.cost_usd:.6f}"
    if e.kind is EventKind.TOOL_RESULT:
        return f" tool={p.get('tool')} ok={p.get('ok')}"
    if e.kind is EventKind.AGENT_END:
        return f" status={p.get('status')} {e.latency_s:.3f}s"
    if e.kind is EventKind.ERROR:
        return f" {p.get('error')}: {p.get('message')}"
    if e.kind is EventKind.GUARD_STOP:
        return f" {p.get('reason')}: {p.get('detail')}"
    if e.kind is EventKind.RUN_END:
        total = (p.get("usage") or {}).get("total") or {}
        return (
            f" stop_reason={p.get('stop_reason')} calls={total.get('model_calls', 0)} "
            f"tokens={total.get('input_tokens', 0) + total.get('output_tokens', 0)} "
            f"cost=${total.get('cost_usd', 0.0):.6f}"
        )
    if e.kind is EventKind.BLACKBOARD_WRITE:
        return f" key={p.get('key')} v{p.get('version')}"
    return ""


def event_logger(run_id: str) -> Callable[[Event], None]:
    """The listener that logs one run's events on ``podium.events``."""

    def log_event(e: Event) -> None:
        level = logging.WARNING if e.kind in _WARN else logging.INFO
        if not _events.isEnabledFor(level):
            return
        message = f"[{run_id}] {e.kind} {e.path} agent={e.agent}{_detail(e)}"
        if _events.isEnabledFor(logging.DEBUG) and e.payload:
            payload = json.dumps(e.payload, ensure_ascii=False, default=str)
            message += f" payload={payload[:_PAYLOAD_CHARS]}"
        _events.log(
            level,
            message,
            extra={
                "run_id": run_id,
                "step": e.path,
                "agent": e.agent,
                "kind": str(e.kind),
                "seq": e.seq,
                "input_tokens": e.input_tokens,
                "output_tokens": e.output_tokens,
                "cost_usd": e.cost_usd,
            },
        )

    return log_event


class _StderrHandler(logging.Handler):
    """Writes to whatever `sys.stderr` is at the time of each record."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def configure_cli_logging(verbosity: int) -> None:
    """``podium -v`` (INFO) / ``-vv`` (DEBUG): podium's logs to stderr; 0 turns them off."""
    root = logging.getLogger("podium")
    for handler in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(handler)
    if verbosity <= 0:
        root.setLevel(logging.NOTSET)
        return
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO)
