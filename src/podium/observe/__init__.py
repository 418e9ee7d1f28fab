"""Views of the run log: summaries, tables, traces."""

from podium.observe._redact import REDACTED, Redactor, default_redactor
from podium.observe._summary import AgentRow, agent_rows, plan_of, subtask_spans

__all__ = [
    "REDACTED",
    "AgentRow",
    "Redactor",
    "agent_rows",
    "default_redactor",
    "plan_of",
    "subtask_spans",
]
