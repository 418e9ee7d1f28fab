"""The eval example's tool and checker: a small runbook of made-up team facts.

The facts are invented, so no model can know them without reading the notes:
only agents holding `lookup_runbook` can answer.
"""

from __future__ import annotations

import re

from podium import tool
from podium.eval import EvalTask

# (keywords, note): the note whose keywords best overlap the question wins.
NOTES = [
    (
        {"backup", "backups", "staging", "database"},
        "[runbook:backups] Staging database backups run nightly at 02:00 UTC; kept 14 days.",
    ),
    (
        {"expense", "expenses", "approve", "approval", "eur"},
        "[runbook:expenses] Expenses above 500 EUR need a director's approval.",
    ),
    (
        {"on-call", "oncall", "rotation", "hand", "handover"},
        "[runbook:oncall] The on-call rotation hands over on Mondays at 10:00 Berlin time.",
    ),
    (
        {"vpn", "port", "office", "endpoint"},
        "[runbook:vpn] The office VPN is vpn.harbor.example on UDP port 51820.",
    ),
    (
        {"deploy", "deploys", "production", "freeze", "frozen"},
        "[runbook:deploys] Production deploys freeze from Friday 15:00 to Monday 09:00.",
    ),
    (
        {"incident", "incidents", "sev1", "severity", "page", "paged"},
        "[runbook:incidents] A SEV1 pages the incident commander within 5 minutes.",
    ),
]


@tool
def lookup_runbook(question: str) -> str:
    """Look up the team runbook note that answers a question."""
    words = set(re.findall(r"[a-z0-9-]+", question.lower()))
    score, note = max((len(keys & words), note) for keys, note in NOTES)
    return note if score else "No runbook note answers that question."


def cites_runbook(output: str, task: EvalTask) -> tuple[float, str]:
    """Half a point for the expected fact, half for citing the runbook note it came from."""
    fact = isinstance(task.expected, str) and task.expected.casefold() in output.casefold()
    cited = f"[runbook:{task.id}]" in output
    reason = f"fact {'found' if fact else 'missing'}, citation {'found' if cited else 'missing'}"
    return (fact + cited) / 2, reason
