"""Process-wide run listeners (exporters such as OpenTelemetry register here)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from podium.events import Event
from podium.observe._logging import event_logger

__all__ = ["ListenerFactory", "add_run_listener", "remove_run_listener", "run_listeners"]

#: Called once per run with the run id; returns the listener for that run's events.
ListenerFactory = Callable[[str], Callable[[Event], None]]

_factories: list[ListenerFactory] = []
_EVENTS_LOGGER = logging.getLogger("podium.events")
_env_checked = False


def add_run_listener(factory: ListenerFactory) -> None:
    """Have every later run in this process call `factory(run_id)` for a listener."""
    if factory not in _factories:
        _factories.append(factory)


def remove_run_listener(factory: ListenerFactory) -> None:
    """Undo `add_run_listener`."""
    if factory in _factories:
        _factories.remove(factory)


def run_listeners(run_id: str) -> tuple[Callable[[Event], None], ...]:
    """The listeners for a new run: the event logger, then every registered factory's.

    The first run of the process also turns on OpenTelemetry export when the
    standard ``OTEL_*`` variables ask for it (see `podium.observe.instrument`).
    """
    global _env_checked
    if not _env_checked:
        _env_checked = True
        from podium.observe._otel_setup import autoinstrument

        autoinstrument()
    factories = tuple(factory(run_id) for factory in _factories) if _factories else ()
    if _handled(_EVENTS_LOGGER):
        return (event_logger(run_id), *factories)
    return factories  # nothing would receive the records: no per-event cost


def _handled(logger: logging.Logger) -> bool:
    """True when some handler other than a NullHandler would see this logger's records."""
    node: logging.Logger | None = logger
    while node is not None:
        for handler in node.handlers:
            if not isinstance(handler, logging.NullHandler):
                return True
        if not node.propagate:
            return False
        node = node.parent
    return False
