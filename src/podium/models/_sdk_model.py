"""What the SDK-backed adapters share: the SDK import, keys, one client per loop."""

from __future__ import annotations

import asyncio
import importlib
import os
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

from podium.errors import ConfigError

__all__ = ["SdkModel"]


class SdkModel:
    """Base of the provider adapters; each subclass speaks its wire format.

    Subclasses set the class attributes below and implement `request`.
    """

    #: the SDK's import name and the extra that installs it
    sdk_module: ClassVar[str]
    #: the SDK's async client class, e.g. ``AsyncOpenAI``
    client_class: ClassVar[str]
    #: environment variables for the key and the endpoint
    key_env: ClassVar[str]
    url_env: ClassVar[str]
    #: added to the missing-key error (e.g. how keyless local servers work)
    key_hint: ClassVar[str] = ""

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None,
        base_url: str | None,
        timeout: float,
        provider: str,
    ) -> None:
        try:
            self._sdk: Any = importlib.import_module(self.sdk_module)
        except ImportError:
            raise ConfigError(
                f"the {self.sdk_module} adapter needs the {self.sdk_module} SDK: "
                f"pip install 'podium[{self.sdk_module}]'"
            ) from None
        self._model = model
        self._provider = provider
        self._timeout = timeout
        self._api_key = api_key or os.environ.get(self.key_env) or None
        self._base_url = base_url or os.environ.get(self.url_env) or None
        if self._base_url is not None and urlsplit(self._base_url).scheme not in ("http", "https"):
            # Else every call fails as a retryable "connection failed" (UnsupportedProtocol).
            raise ConfigError(
                f"{provider}:{model}: the base URL {self._base_url!r} (base_url= or "
                f"{self.url_env}) must start with http:// or https://, "
                f"e.g. 'http://{self._base_url}'"
            )
        if self._api_key is None and self._base_url is None:
            raise ConfigError(
                f"{provider}:{model} needs an API key: set {self.key_env} or pass api_key="
                + self.key_hint
            )
        self._client: Any = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    @property
    def name(self) -> str:
        """``provider:model``, e.g. ``openai:gpt-4o-mini``."""
        return f"{self._provider}:{self._model}"

    @property
    def offline(self) -> bool:
        """Always False: a real LLM answers."""
        return False

    def _get_client(self) -> Any:
        # An SDK client's connection pool belongs to one event loop; `run_sync` starts
        # a new loop per run, so a model reused across runs needs a client per loop.
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client = getattr(self._sdk, self.client_class)(
                # Always explicit, so the SDK never goes looking for credential files;
                # a keyless compatible server ignores the placeholder.
                api_key=self._api_key or "no-key",
                base_url=self._base_url,
                timeout=self._timeout,
                max_retries=0,  # RetryingModel retries, with podium's policy
            )
            self._client_loop = loop
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client (a new one is made if the model is used again)."""
        client, self._client, self._client_loop = self._client, None, None
        if client is not None:
            await client.close()

    def __repr__(self) -> str:  # never shows the key
        return f"{type(self).__name__}({self.name!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
