"""The design review's policy lookup tool and its end-of-chat condition."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from podium import tool
from podium.patterns import ChatMessage

POLICIES = {
    "token": "SEC-4: session tokens live in HttpOnly, Secure cookies, never in JS storage.",
    "password": "SEC-2: passwords are hashed with argon2id; never logged.",
    "log": "SEC-7: logs carry no secrets, tokens or personal data.",
}


@tool
def lookup_policy(topic: str) -> str:
    """The security policy on a topic (e.g. "token", "password", "log")."""
    for key, policy in POLICIES.items():
        if key in topic.lower():
            return policy
    return "No specific policy; apply SEC-1: least privilege, secure defaults. " + " ".join(
        POLICIES.values()
    )


def everyone_spoke_twice(messages: Sequence[ChatMessage]) -> bool:
    """True once every speaker so far has had at least two turns."""
    turns = Counter(m.speaker for m in messages)
    return len(turns) >= 2 and min(turns.values()) >= 2
