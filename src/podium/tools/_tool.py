"""`@tool`: typed Python functions the models can call."""

from __future__ import annotations

import asyncio
import functools
import inspect
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, get_args, get_origin, overload

import docstring_parser
from pydantic import BaseModel, ConfigDict, Field, PydanticUserError, create_model

from podium.errors import ConfigError
from podium.messages import ToolSpec

__all__ = ["Effect", "Tool", "ToolContext", "ToolTimeout", "tool"]

Effect = Literal["read", "write"]
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what OpenAI and Anthropic accept


class ToolTimeout(TimeoutError):
    """A call ran past its tool's `timeout` (a tool's own TimeoutError is not one)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolContext:
    """What a tool may ask about the call it serves.

    A function gets it by declaring a parameter annotated `ToolContext`; that
    parameter is not shown to the model.

    Attributes:
        run_id: the run this call belongs to.
        step: the deterministic step path of this call.
        agent: the calling agent's name.
        idempotency_key: ``run_id + step``; stable across resumes, so a write tool
            can use it to do its side effect once.
    """

    run_id: str
    step: str
    agent: str

    @property
    def idempotency_key(self) -> str:
        """Stable key for this exact call."""
        return f"{self.run_id}:{self.step}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Tool:
    """A callable tool with its schema and policy.

    Build one with `@tool`; the fields are documented there.
    """

    name: str
    description: str
    fn: Callable[..., Any]
    args_model: type[BaseModel]
    effect: Effect = "read"
    needs_approval: bool = False
    timeout: float | None = 60.0
    idempotent: bool = False
    context_param: str | None = None
    is_async: bool = field(default=False)
    approval_timeout: float | None = None
    approval_default: Literal["deny", "approve"] = "deny"

    @property
    def spec(self) -> ToolSpec:
        """The schema shown to models (computed once)."""
        return _spec_of(self.name, self.description, self.args_model)

    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Check and coerce arguments; raises pydantic's `ValidationError`."""
        parsed = self.args_model.model_validate(arguments)
        return {name: getattr(parsed, name) for name in type(parsed).model_fields}

    async def call(self, arguments: dict[str, Any], ctx: ToolContext) -> Any:
        """Run the tool with validated `arguments`, honouring its timeout."""
        kwargs = dict(arguments)
        if self.context_param is not None:
            kwargs[self.context_param] = ctx
        coro = self.fn(**kwargs) if self.is_async else self._in_thread(kwargs)
        if self.timeout is None:
            return await coro
        deadline = asyncio.timeout(self.timeout)
        try:
            async with deadline:
                return await coro
        except TimeoutError:
            if deadline.expired():
                raise ToolTimeout(f"{self.name!r} timed out after {self.timeout:g}s") from None
            raise

    async def _in_thread(self, kwargs: dict[str, Any]) -> Any:
        """A plain function, in a worker thread; a coroutine it returns is awaited here."""
        result = await asyncio.to_thread(functools.partial(self.fn, **kwargs))
        if inspect.isawaitable(result):  # e.g. a plain wrapper around an async function
            result = await result
        return result

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the underlying function directly (handy in tests)."""
        return self.fn(*args, **kwargs)


@functools.lru_cache(maxsize=4096)
def _spec_of(name: str, description: str, args_model: type[BaseModel]) -> ToolSpec:
    schema = args_model.model_json_schema()
    schema.pop("title", None)
    return ToolSpec(name=name, description=description, parameters=schema)


def _param_docs(doc: str) -> dict[str, str]:
    """Parameter descriptions from a docstring (Google, NumPy, reST or Epydoc style)."""
    if not doc:
        return {}
    try:
        parsed = docstring_parser.parse(doc)
    except docstring_parser.ParseError:  # an unusual docstring only loses the descriptions
        return {}
    return {p.arg_name: " ".join(p.description.split()) for p in parsed.params if p.description}


def _has_description(annotation: Any) -> bool:
    """True when ``Annotated[..., Field(description=...)]`` already describes it."""
    if get_origin(annotation) is not Annotated:
        return False
    return any(getattr(m, "description", None) for m in get_args(annotation)[1:])


def _build(
    fn: Callable[..., Any],
    *,
    name: str | None,
    description: str | None,
    effect: Effect,
    needs_approval: bool,
    timeout: float | None,
    idempotent: bool,
    approval_timeout: float | None = None,
    approval_default: Literal["deny", "approve"] = "deny",
) -> Tool:
    name = name or fn.__name__
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"tool name {name!r}: use 1 to 64 letters, digits, '_' or '-' (model providers "
            "accept no other); pass @tool(name=...)"
        )
    if effect not in ("read", "write"):
        raise ConfigError(f"tool {name}: effect must be 'read' or 'write', not {effect!r}")
    sig = inspect.signature(fn)
    try:
        hints = inspect.get_annotations(fn, eval_str=True)
    except Exception as exc:  # a bad annotation is the user's to fix
        raise ConfigError(f"tool {fn.__name__}: cannot read type hints: {exc}") from exc
    fields: dict[str, Any] = {}
    required: list[str] = []
    context_param: str | None = None
    doc = inspect.getdoc(fn) or ""
    described = _param_docs(doc)
    for pname, param in sig.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ConfigError(f"tool {fn.__name__}: *args/**kwargs are not supported")
        if param.kind is param.POSITIONAL_ONLY:
            raise ConfigError(
                f"tool {fn.__name__}: positional-only parameter {pname!r} is not supported "
                "(tools are called with keyword arguments)"
            )
        annotation = hints.get(pname, Any)
        if annotation is ToolContext:
            context_param = pname
            continue
        default = ... if param.default is param.empty else param.default
        if default is ...:
            required.append(pname)
        about = described.get(pname)
        if about and not _has_description(annotation):  # from the docstring's Args section
            default = Field(default, description=about)
        fields[pname] = (annotation, default)
    try:
        with warnings.catch_warnings():  # a parameter named `json` or `schema` works fine
            warnings.filterwarnings("ignore", "Field name .* shadows", UserWarning)
            args_model = create_model(
                f"{fn.__name__}_args", __config__=ConfigDict(extra="forbid"), **fields
            )
    except PydanticUserError as exc:  # e.g. a described `_x`: refused, not dropped
        raise ConfigError(f"tool {fn.__name__}: {exc.message}; rename the parameter") from None
    # pydantic silently drops some names; a required one would make every call fail
    lost = [p for p in required if p not in args_model.model_fields]
    if lost:
        raise ConfigError(
            f"tool {fn.__name__}: pydantic cannot show parameter(s) {lost} to the model "
            "(names starting with '_' and `model_config` are reserved); rename them"
        )
    return Tool(
        name=name,
        description=description or doc.split("\n\n")[0].strip() or fn.__name__,
        fn=fn,
        args_model=args_model,
        effect=effect,
        needs_approval=needs_approval,
        timeout=timeout,
        idempotent=idempotent,
        context_param=context_param,
        is_async=inspect.iscoroutinefunction(fn),
        approval_timeout=approval_timeout,
        approval_default=approval_default,
    )


@overload
def tool(fn: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    effect: Effect = "read",
    needs_approval: bool = False,
    timeout: float | None = 60.0,
    idempotent: bool = False,
    approval_timeout: float | None = None,
    approval_default: Literal["deny", "approve"] = "deny",
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    effect: Effect = "read",
    needs_approval: bool = False,
    timeout: float | None = 60.0,
    idempotent: bool = False,
    approval_timeout: float | None = None,
    approval_default: Literal["deny", "approve"] = "deny",
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Turn a typed function (sync or async) into a `Tool`.

    The JSON schema shown to the model comes from the type hints; the first
    paragraph of the docstring is the description.

    Args:
        fn: the function (when used as ``@tool`` without parentheses).
        name: tool name shown to the model; the function name by default.
        description: overrides the docstring summary.
        effect: ``read`` (no side effects) or ``write``.
        needs_approval: a human must approve each call (enforced by the runtime).
        timeout: seconds a call may take; None for no limit.
        idempotent: calling twice with the same arguments is safe (an interrupted
            call is then re-run on resume instead of asking a human).
        approval_timeout: seconds a human has to decide; then `approval_default`.
        approval_default: ``deny`` (the default) or ``approve`` when time runs out.
    """
    options = {
        "name": name,
        "description": description,
        "effect": effect,
        "needs_approval": needs_approval,
        "timeout": timeout,
        "idempotent": idempotent,
        "approval_timeout": approval_timeout,
        "approval_default": approval_default,
    }
    if fn is not None:
        return _build(fn, **options)  # type: ignore[arg-type]

    def decorate(f: Callable[..., Any]) -> Tool:
        return _build(f, **options)  # type: ignore[arg-type]

    return decorate
