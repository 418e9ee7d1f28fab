"""Views of the run log: summaries, tables, traces."""

from podium.observe._summary import AgentRow, agent_rows, plan_of, subtask_spans

__all__ = ["AgentRow", "agent_rows", "plan_of", "subtask_spans"]
