"""A typed Python function -> a Gemini FunctionDeclaration (JSON schema from hints + docstring)."""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter

from .context import ToolContext

_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Returns|Return|Raises|Yields|Examples?|"
                      r"Notes?)\s*:\s*$")
_ARG = re.compile(r"^\s*\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Google-style docstring -> (description, {argument: description})."""
    lines = inspect.cleandoc(doc or "").splitlines()
    desc: list[str] = []
    args: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    arg_indent = -1
    for line in lines:
        m = _SECTION.match(line)
        if m:
            section, current, arg_indent = m.group(1), None, -1
            continue
        if section is None:
            desc.append(line)
        elif section in ("Args", "Arguments", "Parameters") and line.strip():
            indent = len(line) - len(line.lstrip())
            am = _ARG.match(line)
            if am and (arg_indent < 0 or indent <= arg_indent):
                arg_indent = indent
                current = am.group(1)
                args[current] = am.group(2).strip()
            elif current is not None:
                args[current] = f"{args[current]} {line.strip()}".strip()
    description = " ".join(" ".join(desc).split())
    return description, args


def _optional_inner(tp: Any) -> Any | None:
    """X for `X | None` / Optional[X], else None."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        rest = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(rest) < len(typing.get_args(tp)):
            return rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]  # noqa: UP007
    return None


def _strip_titles(schema: Any) -> Any:
    """pydantic adds "title" everywhere; the model needs descriptions, not titles."""
    if isinstance(schema, dict):
        return {k: _strip_titles(v) for k, v in schema.items()
                if not (k == "title" and isinstance(v, str))}
    if isinstance(schema, list):
        return [_strip_titles(v) for v in schema]
    return schema


def is_context(tp: Any) -> bool:
    return tp is ToolContext


def parameters_schema(fn: Callable[..., Any]) -> tuple[dict[str, Any], set[str], str | None]:
    """(JSON schema of the parameters, names that may be null/absent, context parameter name).

    `X | None` parameters are declared as X and not required: the model omits them, and a null
    it sends anyway is treated as absent.
    """
    hints = typing.get_type_hints(fn, include_extras=True)
    _, arg_docs = parse_docstring(fn.__doc__)
    props: dict[str, Any] = {}
    required: list[str] = []
    optional: set[str] = set()
    context_param: str | None = None
    for p in inspect.signature(fn).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(f"{fn.__name__}: *args/**kwargs cannot be declared to the model")
        if p.name not in hints:
            raise TypeError(f"{fn.__name__}: parameter {p.name!r} needs a type hint")
        tp = hints[p.name]
        if is_context(tp):
            context_param = p.name
            continue
        inner = _optional_inner(tp)
        if inner is not None:
            tp = inner
            optional.add(p.name)
        schema = _strip_titles(TypeAdapter(tp).json_schema())
        if "$defs" in schema or "$ref" in schema:
            raise TypeError(f"{fn.__name__}: parameter {p.name!r}: use JSON types "
                            "(str, int, float, bool, list, dict, Literal, Annotated)")
        if p.name in arg_docs and "description" not in schema:
            schema["description"] = arg_docs[p.name]
        props[p.name] = schema
        if p.default is inspect.Parameter.empty and inner is None:
            required.append(p.name)
        else:
            optional.add(p.name)
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out, optional, context_param

