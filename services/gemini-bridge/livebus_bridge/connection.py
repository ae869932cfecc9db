"""A session's upstream connections: open, close, the goAway plan, and replacing one.

The client's session lives as long as the client wants it. Upstream connections come and go
beneath it: on goAway the bridge switches at a turn boundary (or at the deadline), on a drop it
reconnects with jittered backoff; either way it resumes with the latest resumption handle, and when
there is no usable handle, or the resumed context collapsed, it opens a fresh upstream session
rebuilt from the shadow log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable

from google import genai
from google.genai import errors, types

from livebus import closecodes
from livebus.v1 import bus_pb2

from . import metrics, translate
from .sdkws import Upstream
from .settings import BridgeSettings
from .shadow import ShadowRecorder
from .state import Conversation

log = logging.getLogger(__name__)

History = list[types.Content | types.ContentDict]


class Connection:
    """The current upstream connection (None between two) and when to replace it."""

    def __init__(self, client: genai.Client, model: str, settings: BridgeSettings,
                 conv: Conversation) -> None:
        self.client = client
        self.model = model
        self.settings = settings
        self.conv = conv
        self.config = types.LiveConnectConfig()  # built once, by the session
        self.current: Upstream | None = None
        self.ready = asyncio.Event()     # set while `current` can take messages
        self.handoff = asyncio.Event()   # a goAway's switch, or a context loss, is due
        self.goaway_deadline: float | None = None
        self._goaway_timer: asyncio.TimerHandle | None = None
        self._stack: contextlib.AsyncExitStack | None = None

    async def open(self, handle: str | None, history: History | None = None) -> None:
        config = translate.setup_config(self.config, self.model).model_copy(update={
            "session_resumption": types.SessionResumptionConfig(handle=handle),
            "http_options": None})  # where to connect is the bridge's setting only
        stack = contextlib.AsyncExitStack()
        try:
            live = await stack.enter_async_context(
                self.client.aio.live.connect(model=self.model, config=config))
            if history:
                await live.send_client_content(turns=history, turn_complete=False)
        except BaseException:
            await stack.aclose()
            raise
        self._stack, self.current = stack, Upstream(live, seeding=handle is None)
        self.conv.in_turn = False
        if self._goaway_timer is not None:  # it belonged to the connection just replaced
            self._goaway_timer.cancel()
            self._goaway_timer = None
        self.handoff.clear()
        self.goaway_deadline = None
        self.ready.set()

    async def close(self) -> None:
        self.ready.clear()
        stack, self._stack, self.current = self._stack, None, None
        if stack is not None:
            with contextlib.suppress(Exception):
                await stack.aclose()

    def closed_under(self, up: Upstream | None) -> None:
        """A send on `up` found it closed: wait for the next connection, unless `up` was
        replaced already (the new one is ready and stays so)."""
        if up is self.current:
            self.ready.clear()

    def switch_due(self) -> None:
        """The current connection is to be replaced: hold the uplink from now on, since what
        would still go to it may never be answered (it is closed before the next one opens)."""
        self.ready.clear()
        self.handoff.set()

    def go_away(self, time_left_s: float) -> None:
        """Switch at the next turn boundary, or a margin before the deadline at the latest."""
        margin = min(self.settings.goaway_margin_s, time_left_s * 0.25)
        self.goaway_deadline = time.monotonic() + max(0.0, time_left_s - margin)
        log.info("goAway: %.1f s left; switching at the next turn boundary", time_left_s)
        self._goaway_timer = asyncio.get_running_loop().call_later(
            max(0.0, self.goaway_deadline - time.monotonic()), self.switch_due)
        if not self.conv.in_turn:
            self.switch_due()

    def turn_ended(self) -> None:
        if self.goaway_deadline is not None:
            self.switch_due()


async def switch(conn: Connection, cause: str, why: bus_pb2.Close, shadow: ShadowRecorder,
                 done: asyncio.Event, cut_turn: Callable[[], Awaitable[None]]) -> bool:
    """Replace the upstream connection; False when the conversation cannot go on."""
    conv, settings = conn.conv, conn.settings
    metrics.RECONNECTS.labels(cause).inc()
    log.info("switching upstream connection (%s %s)", cause, why.code)
    started = time.monotonic()
    if conv.in_turn:
        # The reply was cut (a drop, or a goAway deadline mid-turn): end the turn for the
        # client, so it is not left waiting for a turnComplete that will never come.
        metrics.TURNS_CUT.labels(cause).inc()
        await cut_turn()
    await conn.close()  # the upstream rejects overlapping resumes: close first
    await shadow.flush()
    if why.code == closecodes.INVALID_ARGUMENT and conv.handle:
        conv.handle = None  # a handle the upstream no longer knows is useless: rebuild
    rebuild = cause == "context_lost" or conv.handle is None
    conv.context_lost = False
    deadline = time.monotonic() + settings.reconnect_deadline_s
    delay = settings.reconnect_base_s
    while not done.is_set():
        try:
            if rebuild:
                history = await shadow.history()
                metrics.REBUILDS.labels(cause).inc()
                await conn.open(None, history)
            else:
                await conn.open(conv.handle)
                conv.resumed_check = conv.prompt_tokens > 0
            metrics.HANDOFF_SECONDS.observe(time.monotonic() - started)
            log.info("upstream connection replaced in %.0f ms (%s)",
                     (time.monotonic() - started) * 1000, "rebuilt" if rebuild else "resumed")
            return True
        except errors.APIError as e:
            if e.code == closecodes.INVALID_ARGUMENT and not rebuild:
                log.info("resumption refused; rebuilding from the shadow log")
                rebuild = True
                continue
            if time.monotonic() > deadline:
                return False
        except Exception as e:
            log.warning("reconnect failed (%s)", type(e).__name__)
            if time.monotonic() > deadline:
                return False
        await asyncio.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, settings.reconnect_max_s)
    return True
