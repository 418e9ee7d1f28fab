"""`FallbackModel`: try models in order until one answers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from podium.errors import AllModelsFailed, ConfigError, ProviderError
from podium.models._base import Model, ModelRequest, ModelResponse
from podium.models._resolve import resolve_model

__all__ = ["FallbackModel", "falls_back_on"]

_log = logging.getLogger("podium.models")

AUTH_STATUSES = (401, 403)
"""Statuses `falls_back_on` refuses to hide behind a fallback."""


def falls_back_on(error: ProviderError) -> bool:
    """The default policy: move to the next model on every failure but 401 and 403.

    Any other `ProviderError` is something a different model may not have:
    retries used up on 429/5xx/timeouts, an open circuit (`CircuitOpen`), a
    truncated body, a 400 such as "context length exceeded" (a fallback with a
    bigger window may fit the request), a 404 for a retired model, or a
    provider-specific schema complaint. A 401 or 403, though, means a missing,
    wrong or under-privileged API key: a configuration bug that a fallback would
    hide for good while quietly moving all traffic and cost to the backup. It
    is raised at once so it gets fixed.
    """
    return error.status not in AUTH_STATUSES


class FallbackModel:
    """A `Model` that asks each of `models` in turn until one answers.

    Each model keeps its own retries and circuit breaker: `resolve_model` wraps
    real providers in both, so the next model is tried once the previous one has
    spent its retries (or at once when its circuit is open). Every fall back is
    logged (warning, logger ``podium.models``).

    The returned response's `model` names the model that answered (its
    ``provider:model`` name as configured), so usage and cost can be put on the
    right model.

    Args:
        *models: `Model` instances or ``provider:model`` strings (resolved with
            `resolve_model`), in order of preference.
        fall_back_on: decides, per `ProviderError`, whether to try the next model
            (True) or raise that error as it is (False); `falls_back_on` by default.

    Raises:
        ConfigError: no models, or a string that does not name a model.
    """

    def __init__(
        self,
        *models: Model | str,
        fall_back_on: Callable[[ProviderError], bool] = falls_back_on,
    ) -> None:
        if not models:
            raise ConfigError("FallbackModel needs at least one model")
        self.models: tuple[Model, ...] = tuple(resolve_model(m) for m in models)
        self.fall_back_on = fall_back_on

    @property
    def name(self) -> str:
        """``fallback:`` and the models' names, e.g. ``fallback:openai:a,anthropic:b``."""
        return "fallback:" + ",".join(m.name for m in self.models)

    @property
    def offline(self) -> bool:
        """True only when every model is offline."""
        return all(m.offline for m in self.models)

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Ask each model in order; the first answer wins.

        Raises:
            AllModelsFailed: every model failed; `errors` has each one's error.
            ProviderError: a model failed in a way `fall_back_on` declined (by
                default, 401 or 403).
        """
        errors: list[ProviderError] = []
        for index, model in enumerate(self.models):
            try:
                response = await model.request(request)
            except ProviderError as exc:
                if not self.fall_back_on(exc):
                    raise
                errors.append(exc)
                if index + 1 < len(self.models):
                    _log.warning(
                        "%s failed, falling back to %s: %s",
                        model.name,
                        self.models[index + 1].name,
                        exc,
                    )
                continue
            if isinstance(model, FallbackModel):
                return response  # already names the innermost model that answered
            return replace(response, model=model.name)
        provider, _, rest = self.name.partition(":")
        raise AllModelsFailed(errors, provider=provider, model=rest)

    def __repr__(self) -> str:
        return f"FallbackModel({', '.join(repr(m.name) for m in self.models)})"
