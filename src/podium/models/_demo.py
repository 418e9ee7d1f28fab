"""The scripted model's demo behaviour: plausible, deterministic, offline answers.

It reads only the request, never hidden state: a planner prompt (a request for
the ``Plan`` schema) gets one subtask per listed worker; writers and editors wait
for the others. Agents with tools call each tool once. Everyone else answers with
a short text built from the task and the results it was given.
"""

from __future__ import annotations

import json
import re
from typing import Any

from podium.messages import Message, ToolCall
from podium.models._base import ModelRequest, ModelResponse

__all__ = ["demo_response", "fill_schema"]

_PREFIX = "[scripted]"
_WORKER = re.compile(r"^- ([A-Za-z0-9_-]+): (.*)$", re.MULTILINE)
_LATE = ("writ", "report", "summar", "edit", "review", "aggregat", "draft")


def _section(text: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    return match.group(1).strip() if match else ""


def _first_line(text: str, limit: int = 120) -> str:
    line = next((ln.strip() for ln in text.strip().splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _plan(user: str) -> dict[str, Any]:
    goal = _first_line(_section(user, "Goal") or user, 200)
    workers = _WORKER.findall(_section(user, "Workers"))
    early = [(n, r) for n, r in workers if not any(k in r.lower() for k in _LATE)]
    late = [(n, r) for n, r in workers if any(k in r.lower() for k in _LATE)]
    if not early:
        early, late = late[:1], late[1:]
    subtasks: list[dict[str, Any]] = []
    for i, (name, role) in enumerate(early, 1):
        subtasks.append(
            {
                "id": f"t{i}",
                "assignee": name,
                "depends_on": [],
                "instructions": f"As the agent that {role.rstrip('.')}, work on: {goal}",
            }
        )
    first_ids = [s["id"] for s in subtasks]
    for j, (name, role) in enumerate(late, len(subtasks) + 1):
        subtasks.append(
            {
                "id": f"t{j}",
                "assignee": name,
                "depends_on": list(first_ids),
                "instructions": f"Using the results so far, {role.rstrip('.')}: {goal}",
            }
        )
    return {"subtasks": subtasks}


def fill_schema(schema: dict[str, Any], root: dict[str, Any], hint: str) -> Any:
    """A small value that satisfies `schema` (enough for demos and tests)."""
    if "$ref" in schema:
        ref = schema["$ref"].split("/")[-1]
        return fill_schema(root.get("$defs", {}).get(ref, {}), root, hint)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return fill_schema(schema[key][0], root, hint)
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type", "object")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: fill_schema(v, root, f"{hint} ({k})") for k, v in props.items()}
    if kind == "array":
        return [fill_schema(schema.get("items", {}), root, hint)]
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1.0))
    if kind == "boolean":
        return True
    return f"{_PREFIX} {hint}"


def _tool_call(request: ModelRequest, task: str) -> ModelResponse | None:
    if not request.tools or any(m.role == "tool" for m in request.messages):
        return None
    calls = []
    for i, spec in enumerate(request.tools):
        args = fill_schema(spec.parameters, spec.parameters, _first_line(task, 60))
        if isinstance(args, dict):
            args = {
                k: (v.removeprefix(f"{_PREFIX} ") if isinstance(v, str) else v)
                for k, v in args.items()
            }
        calls.append(ToolCall(id=f"call_{i}", name=spec.name, arguments=json.dumps(args)))
    return ModelResponse(tool_calls=tuple(calls), finish_reason="tool_calls")


def _gist(body: str) -> str:
    """The most informative line of a result: its first bullet, else its first line."""
    lines = [ln.strip() for ln in body.strip().splitlines() if ln.strip()]
    bullets = [ln[2:] for ln in lines if ln.startswith("- ")]
    line = bullets[0] if bullets else (lines[0] if lines else "")
    return _first_line(line.removeprefix(_PREFIX).strip(), 140)


def _text(user: str, messages: tuple[Message, ...], agent: str) -> str:
    task = _first_line(user.split("\n## ", 1)[0], 160)
    parts = [f"{_PREFIX} {agent or 'agent'} on “{task}”:"]
    tool_results = [m for m in messages if m.role == "tool"]
    for m in tool_results:
        parts.append(f"- {m.name} returned: {_first_line(m.content, 100)}")
    results = _section(user, "Results you can use")
    for label, body in re.findall(
        r"^### (.+?)\n(.*?)(?=^### |\Z)", results, re.MULTILINE | re.DOTALL
    ):
        parts.append(f"- from {label.split(':')[0].strip()}: {_gist(body)}")
    memory = _section(user, "Shared memory")
    for label, body in re.findall(
        r"^### (.+?)\n(.*?)(?=^### |\Z)", memory, re.MULTILINE | re.DOTALL
    ):
        parts.append(f"- from shared memory {label.split(' (')[0].strip()}: {_gist(body)}")
    if len(parts) == 1:
        parts.append(
            "- no tool results or earlier findings to work from; a real model "
            "would reason about the task here"
        )
    return "\n".join(parts)


def demo_response(request: ModelRequest) -> ModelResponse:
    """The demo answer to `request`."""
    from podium.models._scripted import agent_of

    user = next((m.content for m in request.messages if m.role == "user"), "")
    if request.output_name == "Plan":
        return ModelResponse(text=json.dumps(_plan(user)))
    called = _tool_call(request, user)
    if called is not None:
        return called
    if request.output_schema is not None:
        value = fill_schema(request.output_schema, request.output_schema, _first_line(user, 60))
        return ModelResponse(text=json.dumps(value))
    return ModelResponse(text=_text(user, request.messages, agent_of(request)))
