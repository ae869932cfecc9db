"""Server-side tools for one session: declarations for the setup, calls through the tools service.

The client never sees calls to server tools; calls to tools the client declared pass through to
it. A toolCall may mix both.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from google.genai import types
from nats.aio.client import Client as NATS

from livebus import toolcalls
from livebus.toolcalls import ToolSpec
from livebus.v1 import bus_pb2

from . import metrics

log = logging.getLogger(__name__)

SendResponses = Callable[[list[dict[str, Any]]], Awaitable[None]]


class ToolCatalog:
    """The tools service's declarations, cached by the bridge (they change only on deploys)."""

    def __init__(self, nc: NATS, enabled: list[str], ttl_s: float = 30.0) -> None:
        self.nc = nc
        self.enabled = set(enabled)
        self.ttl_s = ttl_s
        self._specs: list[ToolSpec] = []
        self._fetched = 0.0

    async def specs(self) -> list[ToolSpec]:
        if time.monotonic() - self._fetched > self.ttl_s:
            try:
                specs = await toolcalls.list_tools(self.nc, timeout=1.0)
            except Exception as e:  # no tools service: sessions still open, without its tools
                log.warning("tools service unavailable: %s", e)
                return self._specs
            self._specs = [s for s in specs
                           if not self.enabled or s["declaration"]["name"] in self.enabled]
            self._fetched = time.monotonic()
        return self._specs


def granted(specs: list[ToolSpec], req: bus_pb2.OpenSession) -> list[ToolSpec]:
    """The server tools this session may use. With `tools_granted` the list is the whole grant
    (empty: none); without it the server's default, unless an older gateway listed some."""
    if not req.tools_granted and not req.allowed_tools:
        return specs
    allowed = set(req.allowed_tools)
    return [t for t in specs if t["declaration"]["name"] in allowed]


def with_declarations(config: types.LiveConnectConfig,
                      specs: list[ToolSpec]) -> types.LiveConnectConfig:
    if not specs:
        return config
    declared = [types.FunctionDeclaration.model_validate(d)
                for d in toolcalls.function_declarations(specs, non_blocking=False)]
    tools = [*(config.tools or []), types.Tool(function_declarations=declared)]
    return config.model_copy(update={"tools": tools})


class SessionTools:
    def __init__(self, nc: NATS, specs: list[ToolSpec], user: str, session_id: str,
                 send: SendResponses) -> None:
        self.nc = nc
        self.specs = {s["declaration"]["name"]: s for s in specs}
        self.user = user
        self.session_id = session_id
        self.send = send
        self.running: dict[str, asyncio.Task[None]] = {}
        self.seen: set[str] = set()

    def split(self, call: types.LiveServerToolCall) -> list[types.FunctionCall]:
        """Start the server tools' calls; return the calls that belong to the client."""
        mine = []
        for fc in call.function_calls or []:
            if fc.name not in self.specs:
                mine.append(fc)
                continue
            call_id = fc.id or f"{fc.name}-{len(self.seen)}"
            if call_id in self.seen:  # answered once only
                continue
            self.seen.add(call_id)
            self.running[call_id] = asyncio.create_task(self._run(call_id, fc))
        return mine

    def is_server(self, name: str | None) -> bool:
        return name is not None and name in self.specs

    async def _run(self, call_id: str, fc: types.FunctionCall) -> None:
        assert fc.name is not None
        spec = self.specs[fc.name]
        started = time.monotonic()
        try:
            reply = await toolcalls.call_tool(self.nc, fc.name, dict(fc.args or {}), call_id,
                                              self.user, self.session_id, spec["timeout_s"])
        except Exception as e:  # every call ends with a function response, whatever failed
            log.warning("tool %s failed (%s)", fc.name, type(e).__name__)
            reply = toolcalls.error_reply(call_id, fc.name, toolcalls.UNAVAILABLE,
                                          "the tool call failed")
        outcome = reply["error"]["code"] if "error" in reply else "ok"
        metrics.TOOL_CALLS.labels(fc.name, outcome).inc()
        metrics.TOOL_SECONDS.labels(fc.name).observe(time.monotonic() - started)
        self.running.pop(call_id, None)
        if outcome == "cancelled":
            return
        log.info("tool %s -> %s", fc.name, outcome)
        await self.send([toolcalls.function_response(reply, spec.get("scheduling"))])

    def cancel(self, ids: list[str]) -> list[str]:
        """Cancel server calls among `ids`; return the ids that belong to the client."""
        ours = [i for i in ids if i in self.running]
        for i in ours:
            self.running.pop(i).cancel()
        if ours:
            asyncio.get_running_loop().create_task(
                toolcalls.cancel_tool_calls(self.nc, self.session_id, ours))
        return [i for i in ids if i not in self.seen]

    def close(self) -> None:
        for t in self.running.values():
            t.cancel()
        if self.running:
            asyncio.get_running_loop().create_task(
                toolcalls.cancel_tool_calls(self.nc, self.session_id, list(self.running)))
        self.running.clear()
