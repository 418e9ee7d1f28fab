"""Turning provider SDK exceptions into `ProviderError`, without leaking secrets.

The ``openai`` and ``anthropic`` SDKs are generated from the same template and
share their exception shapes (``APIStatusError`` with ``status_code``,
``response`` and ``body``; ``APITimeoutError``; ``APIConnectionError``), so one
mapping serves both adapters.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from podium.errors import IncompleteResponse, ProviderError
from podium.models._retry import parse_retry_after

__all__ = ["excerpt", "is_retryable_status", "retry_after", "scrub", "to_provider_error"]

_SECRET_PATTERNS = re.compile(
    r"sk-[A-Za-z0-9_\-]{8,}"  # OpenAI and Anthropic key shapes
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/=\-]{8,}"
    r"|(?i:x-api-key|api[_-]?key)[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9._\-]{8,}"
)
_EXCERPT_CHARS = 300
_HINTS = {
    401: "check the API key",
    403: "the API key may not have access to this model",
    404: "unknown model or wrong base URL",
    429: "rate limited",
}


def scrub(text: str, secret: str | None) -> str:
    """`text` with `secret` and anything shaped like an API key replaced."""
    if secret:
        text = text.replace(secret, "[redacted]")
    return _SECRET_PATTERNS.sub("[redacted]", text)


def is_retryable_status(status: int) -> bool:
    """Whether an HTTP status is worth retrying (429, 408, 409 and 5xx)."""
    return status in (408, 409, 429) or status >= 500


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After``, if given."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            seconds = float(millis) / 1000
        except ValueError:
            pass
        else:
            if not math.isnan(seconds):  # NaN would mean "retry at once"
                return max(seconds, 0.0)
    return parse_retry_after(headers.get("retry-after"))


def excerpt(body: object, secret: str | None) -> str:
    """A short, scrubbed one-line excerpt of an error body: its message when it has one."""
    text: str
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            text = error["message"]
        elif isinstance(error, str):
            text = error
        elif isinstance(body.get("message"), str):
            text = body["message"]
        else:
            text = json.dumps(body, default=str)
    elif isinstance(body, bytes):
        text = body.decode("utf-8", "replace")
    else:
        text = "" if body is None else str(body)
    text = " ".join(scrub(text, secret).split())
    if len(text) > _EXCERPT_CHARS:
        text = text[:_EXCERPT_CHARS] + "…"
    return text


def to_provider_error(
    exc: Exception,
    *,
    sdk: Any,
    provider: str,
    model: str,
    secret: str | None,
    timeout: float,
) -> ProviderError:
    """The `ProviderError` for an exception raised by the SDK module `sdk`.

    The message is built from the status and a short scrubbed excerpt of the
    error body, never from the SDK's own message (which may echo request data);
    callers raise it outside their ``except`` block so the SDK exception (whose
    request carries the key) is not chained to it either.
    """
    if isinstance(exc, sdk.APIStatusError):
        status = int(exc.status_code)
        detail = excerpt(exc.body, secret) or "no error detail"
        hint = _HINTS.get(status)
        return ProviderError(
            f"{detail} ({hint})" if hint else detail,
            provider=provider,
            model=model,
            status=status,
            retryable=is_retryable_status(status),
            retry_after=retry_after(exc.response.headers),
        )
    if isinstance(exc, sdk.APITimeoutError):
        return ProviderError(
            f"no answer within {timeout:g}s (request timed out)",
            provider=provider,
            model=model,
            retryable=True,
        )
    if isinstance(exc, sdk.APIConnectionError):
        cause = exc.__cause__
        reason = f"{type(cause).__name__}: {cause}" if cause is not None else "connection error"
        return ProviderError(
            f"connection failed or was cut mid-response ({excerpt(reason, secret)})",
            provider=provider,
            model=model,
            retryable=True,
        )
    if isinstance(exc, sdk.APIResponseValidationError | json.JSONDecodeError):
        return IncompleteResponse(
            "the response body was truncated or not in the expected format",
            provider=provider,
            model=model,
            status=getattr(exc, "status_code", None),
            retryable=True,
        )
    return ProviderError(
        f"{type(exc).__name__}: {excerpt(str(exc), secret)}",
        provider=provider,
        model=model,
    )
