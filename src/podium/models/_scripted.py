"""A deterministic model that ships with podium, for tests, examples and offline demos.

Three ways to drive it:

- a list of responses, replayed in order (optionally one list per agent name);
- a function from `ModelRequest` to a response;
- nothing: the *demo* behaviour, which writes a valid plan for a planner,
  calls each available tool once, and answers with short text derived from the
  prompt, so a whole team runs offline.

Every answer it gives is from no real LLM: `offline` is True, and demo answers
start with ``[scripted]``.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence

from podium.errors import ConfigError
from podium.messages import ToolCall
from podium.models._base import ModelRequest, ModelResponse, Usage
from podium.models._demo import demo_response
from podium.models._pricing import Price, cost_of

__all__ = ["ScriptedModel", "ScriptedResponse", "agent_of", "count_tokens"]

ScriptedResponse = str | ModelResponse | ToolCall | Sequence[ToolCall]
ResponseFn = Callable[[ModelRequest], ScriptedResponse | Awaitable[ScriptedResponse]]

_AGENT = re.compile(r"^You are ([A-Za-z0-9_-]+)")


def count_tokens(text: str) -> int:
    """The scripted model's token count: UTF-8 bytes / 4, rounded up."""
    return math.ceil(len(text.encode()) / 4)


def agent_of(request: ModelRequest) -> str:
    """The agent name a podium system prompt starts with ("" if none)."""
    if request.messages and request.messages[0].role == "system":
        match = _AGENT.match(request.messages[0].content)
        if match:
            return match.group(1)
    return ""


def _input_tokens(request: ModelRequest) -> int:
    size = sum(
        count_tokens(m.content) + sum(count_tokens(c.arguments) + 4 for c in m.tool_calls) + 4
        for m in request.messages
    )
    return size + sum(count_tokens(json.dumps(t.parameters)) for t in request.tools)


def _tool_calls(model: str, answer: object) -> tuple[ToolCall, ...]:
    """`answer` as tool calls; anything else is a mistake in the script."""
    calls = tuple(answer) if isinstance(answer, Sequence) and not isinstance(answer, str) else ()
    if not calls or not all(isinstance(c, ToolCall) for c in calls):
        raise ConfigError(
            f"{model}: a scripted response must be text, a ModelResponse or tool call(s) "
            f"(podium.testing.call), not {answer!r}"
        )
    return calls


def _cut(text: str, calls: Sequence[ToolCall], max_tokens: int) -> tuple[str, tuple[ToolCall, ...]]:
    """What fits in `max_tokens`: the text, then the calls in order (the last one cut short)."""
    left = max_tokens
    text = text.encode()[: left * 4].decode(errors="ignore")
    left -= count_tokens(text)
    kept: list[ToolCall] = []
    for c in calls:
        if left <= 0:
            break
        arguments = c.arguments.encode()[: left * 4].decode(errors="ignore")
        kept.append(ToolCall(id=c.id, name=c.name, arguments=arguments))
        left -= count_tokens(arguments)
    return text, tuple(kept)


class ScriptedModel:
    """Deterministic, offline model.

    Tokens are UTF-8 bytes / 4 (`count_tokens`). Like a real model, an answer
    longer than the request's ``max_tokens`` is cut there (its text, then its
    tool calls' arguments, in order) with ``finish_reason="length"``.

    Args:
        responses: answers replayed in order: text, a `ModelResponse`, or tool
            call(s). A mapping of agent name to such a list scripts each agent
            separately.
        fn: computes each answer from the request instead (sync or async).
        name: the ``scripted:NAME`` shown in logs.
        latency: seconds each call sleeps (to simulate a real model).
        price: USD per million tokens, to exercise cost accounting; the price
            table's entry for `name` (zero for ``scripted:demo``) otherwise.

    Attributes:
        requests: every request received, in order (for assertions).
    """

    offline = True

    def __init__(
        self,
        responses: Sequence[ScriptedResponse]
        | Mapping[str, Sequence[ScriptedResponse]]
        | None = None,
        *,
        fn: ResponseFn | None = None,
        name: str = "scripted:demo",
        latency: float = 0.0,
        price: Price | None = None,
    ) -> None:
        if responses is not None and fn is not None:
            raise ConfigError("ScriptedModel takes responses or fn, not both")
        if not name.startswith("scripted:"):
            name = f"scripted:{name}"
        self._name = name
        self.latency = latency
        self.price = price
        self.fn = fn
        self._queues: dict[str, list[ScriptedResponse]] | None = None
        if isinstance(responses, Mapping):
            self._queues = {k: list(v) for k, v in responses.items()}
        elif responses is not None:
            self._queues = {"": list(responses)}
        self.requests: list[ModelRequest] = []
        self._ids = itertools.count()

    @classmethod
    def from_name(cls, spec: str) -> ScriptedModel:
        """The model for a ``scripted:NAME`` string (demo behaviour)."""
        return cls(name=spec)

    @property
    def name(self) -> str:
        """``scripted:NAME``."""
        return self._name

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Answer from the script, the function, or the demo behaviour."""
        self.requests.append(request)
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.fn is not None:
            answer = self.fn(request)
            if inspect.isawaitable(answer):
                answer = await answer
        elif self._queues is not None:
            answer = self._next(request)
        else:
            answer = demo_response(request)
        return self._finish(request, answer)

    def _next(self, request: ModelRequest) -> ScriptedResponse:
        assert self._queues is not None
        agent = agent_of(request)
        key = agent if agent in self._queues else ""
        queue = self._queues.get(key)
        if queue is None:
            raise ConfigError(
                f"{self.name}: the script has no responses for agent {agent!r}; it "
                f"scripts {', '.join(map(repr, self._queues))}"
            )
        if not queue:
            who = f" for agent {agent!r}" if agent else ""
            raise ConfigError(f"{self.name}: the script has no response left{who}")
        return queue.pop(0)

    def _finish(self, request: ModelRequest, answer: ScriptedResponse) -> ModelResponse:
        if isinstance(answer, ModelResponse):
            response = answer
        elif isinstance(answer, str):
            response = ModelResponse(text=answer)
        else:
            calls = (answer,) if isinstance(answer, ToolCall) else _tool_calls(self.name, answer)
            calls = tuple(
                c
                if c.id
                else ToolCall(id=f"call_{next(self._ids)}", name=c.name, arguments=c.arguments)
                for c in calls
            )
            response = ModelResponse(tool_calls=calls, finish_reason="tool_calls")
        text, calls, finish = response.text, response.tool_calls, response.finish_reason
        out_tokens = count_tokens(text) + sum(count_tokens(c.arguments) for c in calls)
        if out_tokens > request.max_tokens:  # cut like a real model: budgets count on it
            text, calls = _cut(text, calls, request.max_tokens)
            out_tokens, finish = request.max_tokens, "length"
        in_tokens = _input_tokens(request)
        if response.usage.input_tokens or response.usage.output_tokens:
            usage = response.usage
        elif self.price is not None:
            usage = Usage(
                input_tokens=in_tokens,
                output_tokens=out_tokens,
                cost_usd=self.price.cost(in_tokens, out_tokens),
            )
        else:
            usage = cost_of(self.name, in_tokens, out_tokens)
        return ModelResponse(
            text=text,
            tool_calls=calls,
            usage=usage,
            model=self.name,
            finish_reason=finish,
        )

    def __repr__(self) -> str:
        mode = "fn" if self.fn else "script" if self._queues is not None else "demo"
        return f"ScriptedModel({self.name!r}, {mode})"
