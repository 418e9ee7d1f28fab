"""Structured outputs: the instruction given to the model and parsing its answer."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

__all__ = ["OutputCheck", "output_instruction", "parse_output", "schema_of"]

#: An extra check run on a parsed output; raises ValueError with a message the
#: model can act on.
OutputCheck = Callable[[Any], None]

_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


_schemas: dict[type[BaseModel], dict[str, Any]] = {}


def schema_of(output_type: type[BaseModel]) -> dict[str, Any]:
    """`output_type`'s JSON schema, computed once per type (pydantic is slow at it)."""
    schema = _schemas.get(output_type)
    if schema is None:
        schema = _schemas[output_type] = output_type.model_json_schema()
    return schema


@functools.cache
def output_instruction(output_type: type[BaseModel]) -> str:
    """The system-prompt paragraph that asks for JSON matching `output_type`."""
    schema = json.dumps(schema_of(output_type), separators=(",", ":"))
    return (
        "Answer with a single JSON object and nothing else (no prose, no code fence). "
        f"It must match this JSON schema:\n{schema}"
    )


def _json_text(text: str) -> str:
    text = text.strip()
    match = _FENCE.match(text)
    if match:
        return match.group(1)
    start, end = text.find("{"), text.rfind("}")
    if start > 0 and end > start:
        return text[start : end + 1]
    return text


def parse_output(
    text: str, output_type: type[BaseModel], check: OutputCheck | None = None
) -> BaseModel:
    """Validate `text` as `output_type`; raises ValueError with a readable reason."""
    try:
        value = output_type.model_validate_json(_json_text(text))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors()[:10]
        )
        raise ValueError(
            f"the answer does not match the {output_type.__name__} schema: {problems}"
        ) from None
    if check is not None:
        check(value)
    return value
