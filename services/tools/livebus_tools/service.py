"""Answers function calls from the tools' queue group: validate, run within a deadline, reply.

Every request gets exactly one reply, an error reply included. Repeated call ids are answered
from the first call, within `dedupe_window_s`, per replica (the bridge dedupes too), and only to
the same user in the same session. Arguments and results are never logged (they carry user data);
what a malformed request or a failing handler logs is throttled, never one traceback per message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from typing import Any

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from livebus import bus, logs, subjects
from livebus import toolcalls as tc
from livebus.toolcalls import ToolReply

from . import metrics
from .context import ResourceEnv, Resources, ToolContext, ToolError
from .registry import Registry, Tool
from .request import BadRequest, RequestLimits, check_args, clip, parse
from .settings import ToolsSettings
from .throttle import LogThrottle

log = logging.getLogger(__name__)

CallKey = tuple[str, str]  # (session id, call id): what a cancel names
ReplyKey = tuple[str, str, str]  # (user, session id, call id): who may see a remembered reply
CANCEL_MEMORY_S = 60.0     # a cancel that arrives before its call still applies this long
MAX_REMEMBERED = 10_000    # dedupe entries kept at most, oldest finished ones dropped first


class ToolsService:
    def __init__(self, settings: ToolsSettings, registry: Registry) -> None:
        self.settings = settings
        self.registry = registry
        self.resources = Resources()
        self.nc: NATS | None = None
        self.instance = settings.instance_id or "tools"
        self._call_subs: list[Subscription] = []
        self._other_subs: list[Subscription] = []
        self._answers: set[asyncio.Task[None]] = set()
        self._running: dict[CallKey, asyncio.Task[Any]] = {}
        self._replies: OrderedDict[ReplyKey, tuple[asyncio.Task[ToolReply], float]] = \
            OrderedDict()
        self._cancelled: OrderedDict[CallKey, float] = OrderedDict()
        self._slots = asyncio.Semaphore(settings.max_concurrent)
        self._limits = RequestLimits(settings.max_request_bytes, settings.max_args_depth)
        self._quiet = LogThrottle(settings.log_throttle_s)
        self._started = False
        self._stopping = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self.nc = await bus.connect(self.settings.nats_url, self.instance)
        await self.resources.open(self.registry.resources, ResourceEnv(self.nc, self.settings))
        for name in self.registry.tools:
            self._call_subs.append(await self.nc.subscribe(
                subjects.tool_call(name), queue=subjects.TOOLS_QUEUE, cb=self._on_call))
        self._other_subs.append(await self.nc.subscribe(
            subjects.TOOLS_LIST, queue=subjects.TOOLS_QUEUE, cb=self._on_list))
        self._other_subs.append(await self.nc.subscribe(subjects.TOOLS_CANCEL, cb=self._on_cancel))
        await self.nc.flush()
        self._started = True
        log.info("serving %d tools: %s", len(self.registry.tools), ", ".join(self.registry.tools))

    def ready(self) -> tuple[bool, str]:
        if self.nc is None or not self.nc.is_connected:
            return False, "not connected to NATS"
        if not self._started:
            return False, "loading tools"
        if self._stopping:
            return False, "draining"
        if not self.registry.tools:
            return False, "no tools loaded"
        return True, "ok"

    async def stop(self) -> None:
        """Drain: take no new calls, let running ones finish (up to drain_timeout_s), then close."""
        self._stopping = True
        if self.nc is None:
            return
        for sub in self._call_subs:
            if self.nc.is_connected:
                await sub.drain()  # type: ignore[no-untyped-call]  # unsubscribe; calls already delivered still run
        self._call_subs.clear()
        if self._answers:
            _, late = await asyncio.wait(set(self._answers), timeout=self.settings.drain_timeout_s)
            if late:
                log.warning("drain: cancelling %d calls still running", len(self._running))
                for task in list(self._running.values()):
                    task.cancel()
                await asyncio.wait(late, timeout=2.0)
        for sub in self._other_subs:
            await sub.unsubscribe()
        self._other_subs.clear()
        await self.resources.close()
        await self.nc.drain()
        log.info("stopped")

    # -- requests ----------------------------------------------------------------------------

    async def _on_list(self, msg: Msg) -> None:
        await msg.respond(tc.encode({"tools": self.registry.specs()}))

    async def _on_cancel(self, msg: Msg) -> None:
        try:
            body = json.loads(msg.data)
            sid, ids = body["session_id"], body["ids"]
            if not isinstance(sid, str) or not isinstance(ids, list) or len(ids) > 1000 \
                    or not all(isinstance(i, str) for i in ids):
                raise TypeError("bad cancel")
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            self._warn("cancel", "ignoring a malformed cancel")
            return
        now = time.monotonic()
        for call_id in ids:
            key = (sid, call_id)
            self._cancelled[key] = now + CANCEL_MEMORY_S
            task = self._running.get(key)
            if task is not None and not task.done():
                task.cancel()
        while self._cancelled and next(iter(self._cancelled.values())) < now:
            self._cancelled.popitem(last=False)

    async def _on_call(self, msg: Msg) -> None:
        # Never run a handler inside the subscription callback: that would serialize the calls.
        task = asyncio.create_task(self._answer(msg))
        self._answers.add(task)
        task.add_done_callback(self._answers.discard)

    async def _answer(self, msg: Msg) -> None:
        t0 = time.perf_counter()
        tool: Tool[..., Any] | None = None
        try:
            req = parse(msg.data, _tool_name(msg.subject), self._limits)
        except BadRequest as bad:
            reply = bad.reply
            self._warn(f"bad:{bad.kind}", "refused a malformed tool call request (%s)", bad.kind)
        else:
            tool = self.registry.tools.get(req["name"])
            logs.session_id_var.set(req["session_id"] or None)
            reply = await self._reply_for(req, tool)
        label = tool.name if tool is not None else "unknown"
        data = tc.encode({**reply, "served_by": self.instance})
        assert self.nc is not None
        if len(data) > self.nc.max_payload:
            reply = tc.error_reply(reply["id"], reply["name"], tc.HANDLER_ERROR,
                                   f"the result is larger than {self.nc.max_payload} bytes")
            data = tc.encode({**reply, "served_by": self.instance})
        if msg.reply:
            try:
                await msg.respond(data)
            except Exception as e:
                self._warn("respond", "could not send a tool call reply (%s)", type(e).__name__)
        code = reply["error"]["code"] if "error" in reply else "ok"
        metrics.CALLS.labels(label, code).inc()
        if code != "ok":
            metrics.ERRORS.labels(label, code).inc()
        metrics.LATENCY.labels(label).observe(time.perf_counter() - t0)

    async def _reply_for(self, req: tc.ToolRequest, tool: Tool[..., Any] | None) -> ToolReply:
        if tool is None:
            return tc.error_reply(req["id"], req["name"], tc.UNKNOWN_TOOL,
                                  clip(f"no tool named {req['name']!r}"))
        key = (req["session_id"], req["id"])
        seen = (req["user"], req["session_id"], req["id"])
        if req["id"]:
            self._forget_old()
            first = self._replies.get(seen)
            if first is not None:
                metrics.DUPLICATES.labels(tool.name).inc()
                return await asyncio.shield(first[0])
        run = asyncio.create_task(self._execute(req, tool, key))
        if req["id"]:
            self._replies[seen] = (run, time.monotonic() + self.settings.dedupe_window_s)
        return await asyncio.shield(run)

    def _forget_old(self) -> None:
        # The window is the same for every entry, so insertion order is expiry order.
        now = time.monotonic()
        while self._replies:
            task, expires = next(iter(self._replies.values()))
            if not task.done() or (expires > now and len(self._replies) < MAX_REMEMBERED):
                break
            self._replies.popitem(last=False)

    async def _execute(self, req: tc.ToolRequest, tool: Tool[..., Any],
                       key: CallKey) -> ToolReply:
        call_id, name = req["id"], tool.name
        args = req["args"]
        bad = check_args(tool, args)
        if bad is not None:
            return tc.error_reply(call_id, name, tc.INVALID_ARGS, bad)
        args = dict(args)
        deadline = tool.timeout_s
        if req["timeout_s"] > 0:
            deadline = min(deadline, req["timeout_s"])
        async with self._slots:
            if key in self._cancelled:
                return tc.error_reply(call_id, name, tc.CANCELLED, "cancelled before it ran")
            if tool.context_param is not None:
                args[tool.context_param] = ToolContext(call_id, name, req["user"],
                                                       req["session_id"], deadline, self.resources)
            handler: asyncio.Task[Any] = asyncio.create_task(_invoke(tool, args))
            self._running[key] = handler
            metrics.IN_FLIGHT.inc()
            try:
                done, _ = await asyncio.wait({handler}, timeout=deadline)
            except asyncio.CancelledError:
                handler.cancel()
                raise
            finally:
                metrics.IN_FLIGHT.dec()
                if self._running.get(key) is handler:
                    del self._running[key]
        if not done:
            handler.cancel()  # the reply does not wait for a handler that ignores cancellation
            handler.add_done_callback(_swallow)
            metrics.TIMEOUTS.labels(name).inc()
            return tc.error_reply(call_id, name, tc.TIMEOUT,
                                  f"{name} did not finish within {deadline:g}s")
        if handler.cancelled() or key in self._cancelled:
            if handler.done() and not handler.cancelled():
                _swallow(handler)
            if self._stopping and key not in self._cancelled:
                return tc.error_reply(call_id, name, tc.UNAVAILABLE, "the tools replica stopped")
            metrics.CANCELS.labels(name).inc()
            return tc.error_reply(call_id, name, tc.CANCELLED, "cancelled")
        exc = handler.exception()
        if isinstance(exc, ToolError):
            return tc.error_reply(call_id, name, tc.TOOL_ERROR, clip(str(exc), 2000))
        if exc is not None:
            self._failed(name, exc)
            return tc.error_reply(call_id, name, tc.HANDLER_ERROR,
                                  f"{name} failed ({type(exc).__name__})")
        output = handler.result()
        try:
            json.dumps(output, allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            self._warn(f"not_json:{name}", "tool %s returned %s, which is not JSON", name,
                       type(output).__name__)
            return tc.error_reply(call_id, name, tc.HANDLER_ERROR,
                                  f"{name} returned a result that is not JSON")
        return {"id": call_id, "name": name, "output": output}

    # -- throttled logging -------------------------------------------------------------------

    def _warn(self, key: str, fmt: str, *args: object) -> None:
        suppressed = self._quiet.allow(key)
        if suppressed is not None:
            more = f" (and {suppressed} more like it)" if suppressed else ""
            log.warning(fmt + more, *args)

    def _failed(self, name: str, exc: BaseException) -> None:
        """A handler bug: its traceback at most once per interval per tool; the next line
        says how many were left out (livebus_tools_errors_total counts every one)."""
        suppressed = self._quiet.allow(f"failed:{name}")
        if suppressed is not None:
            more = f" (and {suppressed} more failures)" if suppressed else ""
            log.error("tool %s failed%s", name, more, exc_info=exc)


def _tool_name(subject: str) -> str:
    return subject.rsplit(".", 1)[-1]


async def _invoke(tool: Tool[..., Any], args: dict[str, Any]) -> Any:
    if tool.is_async:
        return await tool.fn(**args)
    # A sync handler runs in a thread: it cannot see cancellation, but its deadline still holds.
    return await asyncio.to_thread(tool.fn, **args)


def _swallow(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
