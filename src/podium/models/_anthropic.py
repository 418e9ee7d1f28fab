"""`AnthropicModel`: the Messages API through the official ``anthropic`` SDK."""

from __future__ import annotations

import json
from typing import Any

from podium.messages import Message, ToolCall
from podium.models._base import FinishReason, ModelRequest, ModelResponse
from podium.models._pricing import cost_of
from podium.models._sdk_errors import to_provider_error
from podium.models._sdk_model import SdkModel

__all__ = ["AnthropicModel"]

_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    # The answer was cut because the context window filled up: a length stop too.
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
}


class AnthropicModel(SdkModel):
    """A model served by the Anthropic Messages API.

    Structured output is left to the prompt (the engine puts the schema there), so
    `ModelRequest.output_schema` is not sent; neither is `temperature`, which the
    current API version rejects.

    Args:
        model: the model id, e.g. ``claude-haiku-4-5``.
        api_key: the API key; ``ANTHROPIC_API_KEY`` when omitted.
        base_url: a compatible endpoint; ``ANTHROPIC_BASE_URL`` when omitted.
        timeout: seconds one HTTP request may take.
        provider: the name shown in logs and errors (``name`` is
            ``provider:model``); prices are always looked up as ``anthropic:model``.

    Raises:
        ConfigError: the SDK is not installed, or there is neither an API key
            nor a base URL.
    """

    sdk_module = "anthropic"
    client_class = "AsyncAnthropic"
    key_env = "ANTHROPIC_API_KEY"
    url_env = "ANTHROPIC_BASE_URL"

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        provider: str = "anthropic",
    ) -> None:
        super().__init__(
            model=model, api_key=api_key, base_url=base_url, timeout=timeout, provider=provider
        )

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Send one Messages API request.

        Raises:
            ProviderError: the call failed; `retryable`, `status` and
                `retry_after` say whether and when to try again.
        """
        params = self._params(request)
        sdk = self._sdk
        try:
            message = await self._get_client().messages.create(**params)
        except (sdk.AnthropicError, ValueError) as exc:
            error = to_provider_error(
                exc,
                sdk=sdk,
                provider=self._provider,
                model=self._model,
                secret=self._api_key,
                timeout=self._timeout,
            )
        else:
            return self._response(message)
        # Raised outside the except block so neither __cause__ nor __context__ holds
        # the SDK exception, whose request carries the API key.
        raise error

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        params: dict[str, Any] = {
            "model": self._model,
            "max_tokens": request.max_tokens,
            "messages": _wire_messages(request.messages),
        }
        if system:
            params["system"] = system
        if request.tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in request.tools
            ]
        # No `temperature`: API version 2026-10-21 (sent by the 2.x SDK, which dropped
        # the parameter) rejects sampling parameters with a 400, even at their defaults.
        return params

    def _response(self, message: Any) -> ModelResponse:
        texts: list[str] = []
        calls: list[ToolCall] = []
        for block in getattr(message, "content", None) or ():
            kind = getattr(block, "type", None)
            if kind == "text":
                texts.append(block.text)
            elif kind == "tool_use":
                calls.append(
                    ToolCall(id=block.id, name=block.name, arguments=json.dumps(block.input))
                )
        usage = getattr(message, "usage", None)
        # Cached prompt tokens are reported apart from `input_tokens`; they are still
        # input, so they count (at the full price: an upper bound for cache reads).
        tokens_in = sum(
            int(getattr(usage, field, 0) or 0)
            for field in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        )
        tokens_out = int(getattr(usage, "output_tokens", 0) or 0)
        return ModelResponse(
            text="".join(texts),
            tool_calls=tuple(calls),
            usage=cost_of(f"anthropic:{self._model}", tokens_in, tokens_out),
            model=str(getattr(message, "model", None) or self._model),
            finish_reason=_FINISH.get(getattr(message, "stop_reason", None) or "", "other"),
        )


def _tool_input(arguments: str) -> dict[str, Any]:
    # The API wants `input` as an object. Arguments that are not a JSON object came from
    # another model (this API only returns objects); the runtime has already answered the
    # call with a parse error. Sending `{}` would hide what the model wrote and make that
    # error look wrong, so the raw text is kept under one key the model can read.
    try:
        value = json.loads(arguments)
    except ValueError:
        return {"_raw_arguments": arguments}
    return value if isinstance(value, dict) else {"_raw_arguments": arguments}


def _blocks(message: Message) -> list[dict[str, Any]]:
    if message.role == "tool":
        return [
            {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id or "",
                "content": message.content,
            }
        ]
    blocks: list[dict[str, Any]] = []
    if message.content:  # the API rejects empty text blocks
        blocks.append({"type": "text", "text": message.content})
    blocks.extend(
        {"type": "tool_use", "id": c.id, "name": c.name, "input": _tool_input(c.arguments)}
        for c in message.tool_calls
    )
    return blocks


def _wire_messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """User/assistant turns; tool results go in user turns; same-role runs are merged."""
    wire: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message)
        if not blocks:
            continue
        if wire and wire[-1]["role"] == role:
            wire[-1]["content"].extend(blocks)
        else:
            wire.append({"role": role, "content": blocks})
    return wire
