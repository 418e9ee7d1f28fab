"""A local HTTP server speaking the OpenAI and Anthropic wire formats, for adapter tests.

Tests queue replies (status, headers, JSON body, delay) and read back every request
the SDK sent. Non-streaming JSON only. One server per test, on 127.0.0.1 and a
random port; `WireServer` is a context manager that stops it without waiting on
handlers still sleeping through a scripted delay.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATHS = ("/v1/chat/completions", "/v1/messages")


@dataclass(kw_only=True)
class Reply:
    """One scripted answer. `raw` replaces the JSON body; `cut_at` sends only that
    many bytes of the body (with the full Content-Length) and closes the connection."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None
    cut_at: int | None = None


@dataclass(kw_only=True)
class Received:
    """One request as the server saw it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class WireServer:
    """The server; see the module docstring."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_base_url(self) -> str:
        return self.url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    def reply(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers waiting out a delay
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> WireServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _record_and_pop(self, received: Received) -> Reply | None:
        with self._lock:
            self.requests.append(received)
            return self._replies.popleft() if self._replies else None


@contextmanager
def serve() -> Iterator[WireServer]:
    with WireServer() as server:
        yield server


def _handler_for(server: WireServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: nothing left open

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            data = self.rfile.read(length)
            try:
                body: Any = json.loads(data) if data else None
            except ValueError:
                body = data
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = server._record_and_pop(
                Received(method="POST", path=self.path, headers=headers, body=body)
            )
            if self.path not in PATHS:
                reply = Reply(status=404, body={"error": {"message": f"no route {self.path}"}})
            elif reply is None:
                reply = Reply(status=500, body={"error": {"message": "wire server: no reply"}})
            if reply.delay and server._stopping.wait(reply.delay):
                return
            self._send(reply)

        def _send(self, reply: Reply) -> None:
            payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload if reply.cut_at is None else payload[: reply.cut_at])
                self.wfile.flush()
            except OSError:
                pass  # the client gave up (timeout test)

    return Handler


def openai_completion(
    text: str | None = "",
    *,
    tool_calls: Sequence[tuple[str, str, str]] = (),
    finish_reason: str = "stop",
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    model: str = "gpt-4o-mini-2024-07-18",
) -> dict[str, Any]:
    """A Chat Completions body; `tool_calls` are ``(id, name, raw arguments)``."""
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls:
        message["tool_calls"] = [
            {"id": i, "type": "function", "function": {"name": n, "arguments": a}}
            for i, n, a in tool_calls
        ]
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def anthropic_message(
    text: str = "",
    *,
    tool_uses: Sequence[tuple[str, str, dict[str, Any]]] = (),
    stop_reason: str = "end_turn",
    input_tokens: int = 10,
    output_tokens: int = 5,
    model: str = "claude-haiku-4-5-20251001",
) -> dict[str, Any]:
    """A Messages API body; `tool_uses` are ``(id, name, input)``."""
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    content += [{"type": "tool_use", "id": i, "name": n, "input": a} for i, n, a in tool_uses]
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def error_body(message: str, kind: str = "error") -> dict[str, Any]:
    """An error body in the shape both providers use."""
    return {"type": "error", "error": {"type": kind, "message": message}}


class Clock:
    """A clock the tests move by hand (for breakers and cooldowns)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def no_sleep(seconds: float) -> None:
    """A `sleep` for retry policies that does not wait."""
