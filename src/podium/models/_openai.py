"""`OpenAIModel`: the Chat Completions API through the official ``openai`` SDK.

Works with OpenAI and any OpenAI-compatible server (Azure, vLLM, Ollama,
llama.cpp server, LM Studio) via ``base_url``.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from podium.errors import ProviderError
from podium.messages import Message, ToolCall
from podium.models._base import FinishReason, ModelRequest, ModelResponse
from podium.models._pricing import cost_of
from podium.models._sdk_errors import excerpt, to_provider_error
from podium.models._sdk_model import SdkModel

__all__ = ["OpenAIModel"]

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}
# Hosts that reject `max_tokens` for reasoning models and want `max_completion_tokens`.
_OPENAI_HOSTS = ("api.openai.com", ".openai.azure.com")


class OpenAIModel(SdkModel):
    """A model served by the OpenAI Chat Completions API (or a compatible server).

    Args:
        model: the model id, e.g. ``gpt-4o-mini``.
        api_key: the API key; ``OPENAI_API_KEY`` when omitted. A server at a
            custom ``base_url`` may need none.
        base_url: e.g. ``http://localhost:11434/v1``; ``OPENAI_BASE_URL`` when omitted.
        timeout: seconds one HTTP request may take.
        provider: the name shown in logs and errors (``name`` is
            ``provider:model``); prices are always looked up as ``openai:model``.

    Raises:
        ConfigError: the SDK is not installed, or there is neither an API key
            nor a base URL.
    """

    sdk_module = "openai"
    client_class = "AsyncOpenAI"
    key_env = "OPENAI_API_KEY"
    url_env = "OPENAI_BASE_URL"
    key_hint = " (or pass base_url= for a local OpenAI-compatible server)"

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        provider: str = "openai",
    ) -> None:
        super().__init__(
            model=model, api_key=api_key, base_url=base_url, timeout=timeout, provider=provider
        )
        # OpenAI itself rejects `max_tokens` for reasoning models (o-series, gpt-5);
        # compatible servers (Ollama, llama.cpp, older vLLM, LM Studio) widely know only
        # `max_tokens`. So: the new name for OpenAI's own hosts, the old one elsewhere.
        host = (urlsplit(self._base_url).hostname or "") if self._base_url else "api.openai.com"
        self._tokens_param = (
            "max_completion_tokens"
            if host == _OPENAI_HOSTS[0] or host.endswith(_OPENAI_HOSTS[1])
            else "max_tokens"
        )

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Send one Chat Completions request.

        Raises:
            ProviderError: the call failed; `retryable`, `status` and
                `retry_after` say whether and when to try again.
        """
        params = self._params(request)
        sdk = self._sdk
        try:
            completion = await self._get_client().chat.completions.create(**params)
        except (sdk.OpenAIError, ValueError) as exc:
            error = to_provider_error(
                exc,
                sdk=sdk,
                provider=self._provider,
                model=self._model,
                secret=self._api_key,
                timeout=self._timeout,
            )
        else:
            return self._response(completion, params, request.max_tokens)
        # Raised outside the except block so neither __cause__ nor __context__ holds
        # the SDK exception, whose request carries the API key.
        raise error

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self._model,
            "messages": [_wire_message(m) for m in request.messages],
            self._tokens_param: request.max_tokens,
        }
        if request.tools:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in request.tools
            ]
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.output_schema is not None:
            # Non-strict: strict mode rejects common pydantic schemas (optional
            # fields, open objects); the engine validates the answer anyway.
            name = re.sub(r"[^A-Za-z0-9_-]", "_", request.output_name or "output")[:64]
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": request.output_schema, "strict": False},
            }
        return params

    def _response(self, completion: Any, params: dict[str, Any], max_tokens: int) -> ModelResponse:
        error = getattr(completion, "error", None)
        if error is not None and not getattr(completion, "choices", None):
            raise self._error_in_body(error)
        usage = getattr(completion, "usage", None)
        if usage is None:
            # Some compatible servers report no usage. Zero would make the call free to
            # every budget, so count the worst case: byte-level BPE makes no more tokens
            # than the prompt's bytes as sent, and the answer stops at max_tokens.
            tokens_in, tokens_out = len(json.dumps(params, default=str).encode()), max_tokens
        else:
            tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
            tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
        cost = cost_of(f"openai:{self._model}", tokens_in, tokens_out)
        served = str(getattr(completion, "model", None) or self._model)
        choices = getattr(completion, "choices", None) or []
        if not choices:
            return ModelResponse(usage=cost, model=served, finish_reason="other")
        message = choices[0].message
        calls = tuple(
            # Raw argument text on purpose: malformed JSON goes to the runtime untouched.
            ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments or "")
            for c in (message.tool_calls or ())
            if getattr(c, "type", "function") == "function"
        )
        text = _text(message.content)
        finish = _FINISH.get(choices[0].finish_reason or "", "other")
        refusal = getattr(message, "refusal", None)
        if not text and refusal:
            text, finish = str(refusal), "content_filter"
        if calls and finish == "stop":
            finish = "tool_calls"  # some compatible servers say "stop" with tool calls
        return ModelResponse(
            text=text, tool_calls=calls, usage=cost, model=served, finish_reason=finish
        )

    def _error_in_body(self, error: object) -> ProviderError:
        """Some gateways answer HTTP 200 with an error body (an upstream failure)."""
        code = error.get("code") if isinstance(error, dict) else None
        status = code if isinstance(code, int) and 400 <= code < 600 else None
        return ProviderError(
            f"the server answered HTTP 200 with an error: "
            f"{excerpt({'error': error}, self._api_key) or 'no error detail'}",
            provider=self._provider,
            model=self._model,
            status=status,
            retryable=status is not None and (status == 429 or status >= 500),
        )


def _text(content: object) -> str:
    # Some compatible servers (Mistral's reasoning models, gateways) send a list of
    # parts; the answer is its text parts (thinking parts are not the answer).
    if isinstance(content, list):
        return "".join(
            str(p.get("text") or "")
            for p in content
            if isinstance(p, dict) and p.get("type") == "text"
        )
    return str(content or "")


def _wire_message(message: Message) -> dict[str, Any]:
    if message.role == "tool":
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id or "",
            "content": message.content,
        }
    if message.role == "assistant" and message.tool_calls:
        return {
            "role": "assistant",
            "content": message.content or None,
            "tool_calls": [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in message.tool_calls
            ],
        }
    return {"role": message.role, "content": message.content}
