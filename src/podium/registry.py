"""The registry: which runnables a team has, and the capability cards planners see."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator

from podium._engine._runner import Runnable
from podium.errors import ConfigError

__all__ = ["Registry", "suggest"]


def suggest(name: str, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest option, or ""."""
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class Registry:
    """Named runnables with their role cards.

    Args:
        members: agents or teams; names must be unique.
    """

    def __init__(self, members: Iterable[Runnable] = ()) -> None:
        self._members: dict[str, Runnable] = {}
        for member in members:
            self.register(member)

    def register(self, member: Runnable) -> None:
        """Add `member`; its name must be new."""
        if not isinstance(member, Runnable):
            raise ConfigError(f"{member!r} is not an agent or team (it has no invoke/name/role)")
        if member.name in self._members:
            raise ConfigError(f"two members of the registry are named {member.name!r}")
        self._members[member.name] = member

    def get(self, name: str) -> Runnable:
        """The member called `name`; ConfigError with a suggestion otherwise."""
        try:
            return self._members[name]
        except KeyError:
            raise ConfigError(
                f"no agent or team named {name!r}{suggest(name, self._members)}; "
                f"known: {', '.join(self._members) or 'none'}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._members

    def __iter__(self) -> Iterator[Runnable]:
        return iter(self._members.values())

    def __len__(self) -> int:
        return len(self._members)

    @property
    def names(self) -> list[str]:
        """Member names in registration order."""
        return list(self._members)

    def cards(self) -> str:
        """One ``- name: role`` line per member, as shown to planners."""
        return "\n".join(f"- {m.name}: {m.role or 'general purpose'}" for m in self)
