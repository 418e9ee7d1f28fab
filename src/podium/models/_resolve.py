"""`resolve_model`: from a ``"vendor:model"`` string to a ready `Model`."""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence

from podium.errors import ConfigError
from podium.models._base import Model
from podium.models._circuit import CircuitBreakerModel, endpoint_key, shared_breaker
from podium.models._retry import RetryingModel, RetryPolicy

__all__ = ["PROVIDERS", "default_model_name", "resolve_model"]

PROVIDERS = ("openai", "anthropic", "scripted")
"""The provider prefixes `resolve_model` understands."""


def resolve_model(
    spec: str | Model | Sequence[str | Model],
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    retry: RetryPolicy | None = None,
) -> Model:
    """The model named by `spec`, e.g. ``"openai:gpt-4o-mini"``.

    Real providers come as ``CircuitBreakerModel(RetryingModel(adapter))``: retried,
    and not called while their endpoint's shared circuit breaker is open.
    ``scripted:NAME`` gives the offline scripted model; a `Model` instance is
    returned as it is. A list or tuple gives a `FallbackModel` over its items,
    in order.

    Args:
        spec: ``provider:model``, a `Model`, or a list/tuple of them.
        api_key: key for the provider (else its ``*_API_KEY`` environment variable).
        base_url: endpoint for the provider (else its ``*_BASE_URL`` variable).
        retry: the retry policy; `RetryPolicy()` defaults when None.

    Raises:
        ConfigError: unknown provider, a malformed spec, a missing key or SDK, or
            `api_key`/`base_url` given with a list (they would be sent to every
            provider in it; resolve each model on its own instead).
    """
    if isinstance(spec, list | tuple):
        return _fallback(spec, api_key=api_key, base_url=base_url, retry=retry)
    if not isinstance(spec, str):
        if isinstance(spec, Model):
            return spec
        raise ConfigError(f"a model must be a 'provider:model' string or a Model, not {spec!r}")
    provider, sep, name = spec.partition(":")
    provider = provider.strip().lower()
    name = name.strip()
    if not sep or not name or provider not in PROVIDERS:
        raise ConfigError(
            f"unknown model {spec!r}: use 'provider:model' with provider one of "
            f"{', '.join(PROVIDERS)} (e.g. 'openai:gpt-4o-mini')"
        )
    if provider == "scripted":
        scripted = importlib.import_module("podium.models._scripted")
        model: Model = scripted.ScriptedModel.from_name(spec)
        return model
    policy = retry or RetryPolicy()
    # One HTTP request never outlives the retry policy's per-attempt timeout.
    timeout = policy.call_timeout
    inner: Model
    base_url = base_url or os.environ.get(f"{provider.upper()}_BASE_URL") or None
    if provider == "openai":
        from podium.models._openai import OpenAIModel

        inner = OpenAIModel(model=name, api_key=api_key, base_url=base_url, timeout=timeout)
    else:
        from podium.models._anthropic import AnthropicModel

        inner = AnthropicModel(model=name, api_key=api_key, base_url=base_url, timeout=timeout)
    breaker = shared_breaker(endpoint_key(provider, base_url))
    return CircuitBreakerModel(model=RetryingModel(model=inner, policy=policy), breaker=breaker)


def _fallback(
    specs: Sequence[str | Model],
    *,
    api_key: str | None,
    base_url: str | None,
    retry: RetryPolicy | None,
) -> Model:
    if api_key is not None or base_url is not None:
        raise ConfigError(
            "api_key= and base_url= apply to one provider: for a list of models, resolve "
            "each one with its own key, e.g. [resolve_model('openai:gpt-4o', api_key=...), "
            "'anthropic:claude-haiku-4-5']"
        )
    from podium.models._fallback import FallbackModel

    return FallbackModel(*(resolve_model(s, retry=retry) for s in specs))


def default_model_name() -> str:
    """The model to use when none is given.

    ``PODIUM_MODEL`` when set, else ``openai:gpt-4o-mini`` when ``OPENAI_API_KEY``
    is set, else ``anthropic:claude-haiku-4-5`` when ``ANTHROPIC_API_KEY`` is set,
    else the offline ``scripted:demo``.
    """
    if os.environ.get("PODIUM_MODEL"):
        return os.environ["PODIUM_MODEL"]
    if os.environ.get("OPENAI_API_KEY"):
        return "openai:gpt-4o-mini"
    if os.environ.get("ANTHROPIC_API_KEY"):
        return "anthropic:claude-haiku-4-5"
    return "scripted:demo"
