"""A TLS websocket relay between the bridges and the emulator, for tests: it records every frame
the bridge sends upstream and may rewrite what the emulator sends back.

`tapped_stack` starts it before the stack (the bridges' GEMINI_BASE_URL points at it) on the
stack's own dev certificate, and forwards each connection to the emulator once that is up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import websockets
from websockets.asyncio.server import ServerConnection

from livebus import tls
from livebus_dev import devca, procs
from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import running_stack

Rewrite = Callable[[dict[str, Any]], dict[str, Any]]


class Tap:
    def __init__(self, port: int, certs: devca.DevCerts) -> None:
        self.port = port
        self.certs = certs
        self.target = ""                       # the emulator's https URL
        self.sent: list[dict[str, Any]] = []   # bridge -> upstream, parsed
        self.sent_at: list[float] = []         # when each arrived here (time.time())
        self.rewrite: Rewrite | None = None    # upstream -> bridge
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(10), "the tap did not start"

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        ctx = devca.server_context(self.certs.cert, self.certs.key)
        async with websockets.serve(self._relay, "127.0.0.1", self.port, ssl=ctx,
                                    max_size=None):
            self._ready.set()
            await self._stop.wait()

    async def _relay(self, down: ServerConnection) -> None:
        assert down.request is not None
        url = self.target.replace("https://", "wss://") + down.request.path
        hdrs = {k: v for k, v in down.request.headers.raw_items()
                if k.lower() in ("x-goog-api-key", "authorization")}
        client_ctx: ssl.SSLContext = tls.client_context(self.certs.ca)
        try:
            async with websockets.connect(url, ssl=client_ctx, additional_headers=hdrs,
                                          max_size=None) as up:
                await self._pump(down, up)
        except websockets.ConnectionClosed:
            pass

    async def _pump(self, down: ServerConnection, up: websockets.ClientConnection) -> None:
        async def upward() -> None:
            async for frame in down:
                self.sent_at.append(time.time())
                self.sent.append(json.loads(frame))
                await up.send(frame)

        async def downward() -> None:
            async for frame in up:
                if self.rewrite is not None:
                    frame = json.dumps(self.rewrite(json.loads(frame)))
                await down.send(frame)

        tasks = [asyncio.create_task(upward()), asyncio.create_task(downward())]
        with contextlib.suppress(websockets.ConnectionClosed):
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in tasks:
            t.cancel()
        closed = up.close_code
        if closed is not None:  # the upstream's close code reaches the bridge as it was
            await down.close(closed, up.close_reason or "")
        else:
            await up.close()

    def realtime(self, field: str) -> list[dict[str, Any]]:
        """Every `realtimeInput.<field>` value sent upstream, in order (both spellings)."""
        snake = "".join("_" + c.lower() if c.isupper() else c for c in field)
        out = []
        for m in self.sent:
            body = m.get("realtime_input", m.get("realtimeInput"))
            if isinstance(body, dict):
                value = body.get(field, body.get(snake))
                if value is not None:
                    out.append(value)
        return out


@contextlib.contextmanager
def tapped_stack(tmp: Path, **overrides: Any) -> Iterator[tuple[Stack, Tap]]:
    d = tmp / "livebus"
    certs = devca.ensure_dev_certs(d)
    tap = Tap(procs.free_port(), certs)
    tap.start()
    env = {**overrides.pop("extra_env", {}),
           "GEMINI_BASE_URL": f"https://127.0.0.1:{tap.port}"}
    try:
        with running_stack(tmp, extra_env=env, **overrides) as stack:
            assert stack.emulator_url is not None
            tap.target = stack.emulator_url
            yield stack, tap
    finally:
        tap.stop()
