"""A call request off the bus, parsed strictly: any malformed field is a defined error reply.

The tool's name comes from the subject the request arrived on (a replica subscribes only to the
tools it serves); a body that names another tool is refused rather than rerouted. Strings must be
JSON strings (a user 123 is not the user "123"), NaN and Infinity are not JSON, and the
arguments are bounded in size and depth before any validator walks them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from livebus import toolcalls as tc
from livebus.toolcalls import ToolReply

from .registry import Tool

MAX_MESSAGE_CHARS = 300  # an error message echoes at most this much of what it refers to


@dataclass(frozen=True)
class RequestLimits:
    max_bytes: int = 256 * 1024
    max_depth: int = 32


class BadRequest(Exception):
    """The request is refused before any handler runs; `reply` says why (and `kind`, for logs)."""

    def __init__(self, reply: ToolReply, kind: str) -> None:
        super().__init__(reply["error"]["message"])
        self.reply, self.kind = reply, kind


def clip(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _depth_over(value: object, limit: int) -> bool:
    """True when containers nest deeper than `limit` (iterative: no recursion to exhaust)."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: list[Any] = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth + 1 > limit:
            return True
        stack.extend((c, depth + 1) for c in children)
    return False


def _string(body: dict[str, Any], field: str, call_id: str, name: str) -> str:
    value = body.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(tc.error_reply(call_id, name, tc.BAD_REQUEST,
                                        f"{field} must be a string"), "field_type")
    return value


def _timeout(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value) if 0 < value < 86_400 else 0.0


def parse(data: bytes, name: str, limits: RequestLimits) -> tc.ToolRequest:
    """The request for tool `name` (from the subject), or BadRequest."""
    if len(data) > limits.max_bytes:
        raise BadRequest(tc.error_reply("", name, tc.BAD_REQUEST,
                                        f"the request is larger than {limits.max_bytes} bytes"),
                         "too_large")
    try:
        body = json.loads(data, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise BadRequest(tc.error_reply("", name, tc.BAD_REQUEST, "the request is not JSON"),
                         "not_json") from None
    if not isinstance(body, dict):
        raise BadRequest(tc.error_reply("", name, tc.BAD_REQUEST,
                                        "the request is not an object"), "not_object")
    call_id = _string(body, "id", "", name)
    named = _string(body, "name", call_id, name)
    if named and named != name:
        raise BadRequest(tc.error_reply(call_id, name, tc.BAD_REQUEST,
                                        "the request names another tool than its subject"),
                         "name_mismatch")
    user = _string(body, "user", call_id, name)
    session_id = _string(body, "session_id", call_id, name)
    args = body.get("args")
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise BadRequest(tc.error_reply(call_id, name, tc.INVALID_ARGS,
                                        "args must be a JSON object"), "args_type")
    if _depth_over(args, limits.max_depth):
        raise BadRequest(tc.error_reply(call_id, name, tc.INVALID_ARGS,
                                        f"args nest deeper than {limits.max_depth} levels"),
                         "args_depth")
    return {"id": call_id, "name": name, "args": args, "user": user, "session_id": session_id,
            "timeout_s": _timeout(body.get("timeout_s"))}


def check_args(tool: Tool[..., Any], args: dict[str, Any]) -> str | None:
    """None if the arguments match the declaration, else what is wrong (the handler never runs)."""
    for k in [k for k, v in args.items() if v is None and k in tool.optional]:
        del args[k]  # null for an optional parameter means "not given"
    props = tool.parameters.get("properties", {})
    extra = sorted(set(args) - set(props))
    if extra:
        return clip(f"unexpected argument(s): {', '.join(extra)}")
    errors = sorted(tool.validator.iter_errors(args), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    parts = []
    for e in errors[:3]:
        where = ".".join(str(p) for p in e.absolute_path)
        parts.append(clip(f"{where}: {e.message}" if where else e.message))
    return "; ".join(parts)
