"""Views of the run log: summaries, trace trees, blame, OpenTelemetry export, redaction."""

from podium.observe._blame import (
    ClaimBlame,
    Enclosure,
    EntryBlame,
    ErrorBlame,
    FinalBlame,
    Hop,
    blame_error,
    blame_final,
    blame_key,
)
from podium.observe._listeners import ListenerFactory, add_run_listener, remove_run_listener
from podium.observe._logging import configure_cli_logging, event_logger
from podium.observe._otel_setup import Instrumentation, instrument, uninstrument
from podium.observe._redact import REDACTED, Redactor, default_redactor
from podium.observe._summary import (
    AgentRow,
    MessageStat,
    ModelRow,
    PromptRow,
    agent_rows,
    biggest_prompts,
    message_stats,
    model_rows,
    plan_of,
    report_dict,
    subtask_spans,
)
from podium.observe._trace import Trace, TraceNode, build_trace

__all__ = [
    "REDACTED",
    "AgentRow",
    "ClaimBlame",
    "Enclosure",
    "EntryBlame",
    "ErrorBlame",
    "FinalBlame",
    "Hop",
    "Instrumentation",
    "ListenerFactory",
    "MessageStat",
    "ModelRow",
    "PromptRow",
    "Redactor",
    "Trace",
    "TraceNode",
    "add_run_listener",
    "agent_rows",
    "biggest_prompts",
    "blame_error",
    "blame_final",
    "blame_key",
    "build_trace",
    "configure_cli_logging",
    "default_redactor",
    "event_logger",
    "instrument",
    "message_stats",
    "model_rows",
    "plan_of",
    "remove_run_listener",
    "report_dict",
    "subtask_spans",
    "uninstrument",
]
