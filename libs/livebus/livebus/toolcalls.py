"""The bus contract for function calls (bridge <-> tools service) and the bridge's client.

Messages are JSON: the arguments and results are arbitrary JSON from and for the model, so a
protobuf wrapper would only add a second encoding.

- call request on subjects.tool_call(name), queue group subjects.TOOLS_QUEUE:
  {"id", "name", "args": {...}, "user", "session_id", "timeout_s"}
- call reply: {"id", "name", "output": <json>} or {"id", "name", "error": {"code", "message"}},
  plus "served_by" (the replica's instance id, for debugging).
- cancel, published on subjects.TOOLS_CANCEL (every replica hears it):
  {"session_id", "ids": [...]}; a cancelled call still gets a reply, with error code "cancelled".
- list request on subjects.TOOLS_LIST: reply {"tools": [ToolSpec, ...]}.

A call never ends in silence: whatever happens, `call_tool` returns a reply dict.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any, Literal, NotRequired, TypedDict

from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from . import subjects

Behavior = Literal["BLOCKING", "NON_BLOCKING"]
Scheduling = Literal["INTERRUPT", "WHEN_IDLE", "SILENT"]

# Error codes of a reply.
INVALID_ARGS = "invalid_args"      # arguments do not match the declaration; the handler never ran
UNKNOWN_TOOL = "unknown_tool"
BAD_REQUEST = "bad_request"        # the request itself is not a valid call message
TIMEOUT = "timeout"                # the handler ran past its deadline (and was cancelled)
CANCELLED = "cancelled"            # the bridge cancelled the call
TOOL_ERROR = "tool_error"          # the handler refused with a message meant for the model
HANDLER_ERROR = "handler_error"    # the handler raised; details are in the service's log
UNAVAILABLE = "unavailable"        # no tools replica serves this tool (NoResponders) or draining

# Tool names: Gemini's rules, minus dots (a name is one NATS subject token).
TOOL_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")

# Added to the caller's wait beyond the call's own deadline, so the service's timeout reply
# (which names the tool's deadline) normally arrives before the caller gives up.
REPLY_GRACE_S = 0.5

# With no replica subscribed, a call retries for this long before it fails as unavailable: a
# replica being replaced leaves a gap of a few milliseconds, and the model should not see it.
NO_RESPONDERS_RETRY_S = (0.02, 0.05, 0.1)


class ReplyError(TypedDict):
    code: str
    message: str


class ToolReply(TypedDict):
    id: str
    name: str
    output: NotRequired[Any]
    error: NotRequired[ReplyError]
    served_by: NotRequired[str]


class ToolRequest(TypedDict):
    id: str
    name: str
    args: dict[str, Any]
    user: str
    session_id: str
    timeout_s: float


class ToolSpec(TypedDict):
    """One tool as the service serves it."""

    declaration: dict[str, Any]   # Gemini FunctionDeclaration, wire JSON (camelCase)
    timeout_s: float
    behavior: Behavior
    scheduling: NotRequired[Scheduling]  # for NON_BLOCKING tools: how the result is delivered


def error_reply(call_id: str, name: str, code: str, message: str) -> ToolReply:
    return {"id": call_id, "name": name, "error": {"code": code, "message": message}}


def encode(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


async def call_tool(nc: NATS, name: str, args: dict[str, Any] | None, call_id: str,
                    user: str, session_id: str, timeout: float = 10.0) -> ToolReply:
    """Run one function call on the tools service; always returns a reply (maybe an error).

    `timeout` bounds the handler (the service applies min(timeout, the tool's own timeout)).
    """
    req: ToolRequest = {"id": call_id, "name": name, "args": args or {}, "user": user,
                        "session_id": session_id, "timeout_s": timeout}
    if not TOOL_NAME_RE.match(name):
        return error_reply(call_id, name, UNKNOWN_TOOL, f"no tool named {name!r}")
    for pause in (*NO_RESPONDERS_RETRY_S, None):
        try:
            msg = await nc.request(subjects.tool_call(name), encode(req),
                                   timeout=timeout + REPLY_GRACE_S)
            break
        except NoRespondersError:
            if pause is None:
                return error_reply(call_id, name, UNAVAILABLE,
                                   f"no tools service serves {name!r}")
            await asyncio.sleep(pause)
        except NatsTimeoutError:
            return error_reply(call_id, name, TIMEOUT, f"no reply within {timeout:g}s")
        except Exception:  # a connection closed or draining, a bad subject: still a reply
            return error_reply(call_id, name, UNAVAILABLE, "the tools service could not be asked")
    return _checked_reply(msg.data, call_id, name)


def _checked_reply(data: bytes, call_id: str, name: str) -> ToolReply:
    """The service's reply, always for this call (its id and name) and of the documented shape."""
    bad = error_reply(call_id, name, HANDLER_ERROR, "the tools service sent a bad reply")
    try:
        reply = json.loads(data)
    except ValueError:
        return bad
    if not isinstance(reply, dict):
        return bad
    out: ToolReply = {"id": call_id, "name": name}
    error = reply.get("error")
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        out["error"] = {"code": error["code"], "message": str(error.get("message", ""))}
    elif "output" in reply and "error" not in reply:
        out["output"] = reply["output"]
    else:
        return bad
    if isinstance(reply.get("served_by"), str):
        out["served_by"] = reply["served_by"]
    return out


async def cancel_tool_calls(nc: NATS, session_id: str, ids: list[str]) -> None:
    """Cancel running calls (e.g. on the model's toolCallCancellation)."""
    await nc.publish(subjects.TOOLS_CANCEL, encode({"session_id": session_id, "ids": ids}))


async def list_tools(nc: NATS, timeout: float = 2.0) -> list[ToolSpec]:
    """The tools one replica serves (all replicas serve the same set). Raises on no service."""
    msg = await nc.request(subjects.TOOLS_LIST, b"", timeout=timeout)
    tools: list[ToolSpec] = json.loads(msg.data)["tools"]
    return tools


def function_declarations(tools: list[ToolSpec], non_blocking: bool = True) -> list[dict[str, Any]]:
    """Declarations for setup.tools[].functionDeclarations.

    With non_blocking=False (models without asynchronous function calling) the `behavior`
    field is left out, and every call is blocking.
    """
    out = []
    for t in tools:
        d = dict(t["declaration"])
        if not non_blocking:
            d.pop("behavior", None)
        out.append(d)
    return out


def function_response(reply: ToolReply, scheduling: Scheduling | None = None) -> dict[str, Any]:
    """The FunctionResponse (wire JSON) for tool_response.functionResponses.

    Gemini's convention: the response object holds "output" or "error".
    """
    response: dict[str, Any]
    if "error" in reply:
        response = {"error": dict(reply["error"])}
    else:
        response = {"output": reply.get("output")}
    fr: dict[str, Any] = {"id": reply["id"], "name": reply["name"], "response": response}
    if scheduling is not None:
        fr["scheduling"] = scheduling
    return fr
