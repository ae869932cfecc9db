"""Resuming a session never extends its life: max_session_s and the opening token's expiry hold.

Issue 12 item 8: max_session_s bounded one connection, so a client could keep a session forever
by resuming it before the limit; and a newer token of the same user gave a resumed session a new
expiry. The handle now carries the session's start and its token's expiry.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from livebus import tls
from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import MODEL, mint, running_stack

from .livews import PATH, Ending, ending, live_socket, typed_turn

MAX_SESSION_S = 12


@pytest.fixture(scope="module")
def short_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {"LIVEBUS_GATEWAY_MAX_SESSION_S": str(MAX_SESSION_S)}
    with running_stack(tmp_path_factory.mktemp("lifetime"), extra_env=env) as s:
        yield s


async def a_handle(ws: ClientConnection) -> str:
    seen: list[dict[str, Any]] = await typed_turn(ws, "hello")
    async with asyncio.timeout(15):
        while True:
            for m in seen:
                h = (m.get("sessionResumptionUpdate") or {}).get("newHandle")
                if h:
                    return str(h)
            seen = [json.loads(await ws.recv())]


async def resumed_until_closed(stack: Stack, handle: str, key: str | None = None) -> Ending:
    """Resume with the handle and read until the gateway closes the socket. (Message order before
    setupComplete is another test's concern: this one only needs the session to open.)"""
    url = stack.gateway_https().replace("https://", "wss://") + PATH
    async with websockets.connect(url, ssl=tls.client_context(stack.ca_file), max_size=None,
                                  additional_headers={"x-goog-api-key": key or stack.api_key},
                                  open_timeout=20) as ws:
        await ws.send(json.dumps({"setup": {"model": MODEL,
                                            "sessionResumption": {"handle": handle}}}))
        end = await ending(ws, MAX_SESSION_S + 10)
    assert any("setupComplete" in json.loads(m) for m in end.received), end
    return end


async def token(stack: Stack, user: str, lifetime_s: float) -> str:
    expire = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lifetime_s)
    return await mint(stack, {"uses": 1, "expireTime": expire.isoformat(),
                              "livebus": {"user": user}})


async def test_resuming_does_not_restart_the_maximum_duration(short_stack: Stack) -> None:
    started = time.monotonic()
    async with live_socket(short_stack, {"sessionResumption": {}}) as first:
        handle = await a_handle(first)
    await asyncio.sleep(max(0.0, started + MAX_SESSION_S / 2 - time.monotonic()))
    resumed_at = time.monotonic()
    end = await resumed_until_closed(short_stack, handle)
    ended = time.monotonic()
    assert (end.code, end.reason) == (1008, "maximum session duration reached")
    # The session's own deadline, not a new one from the resumption (that would be >= 18 s).
    assert ended - started < MAX_SESSION_S + 4
    assert ended - resumed_at < MAX_SESSION_S - 2


async def test_a_newer_token_does_not_extend_a_resumed_session(short_stack: Stack) -> None:
    started = time.monotonic()
    opening = await token(short_stack, "lifetime-user", 5)
    async with live_socket(short_stack, {"sessionResumption": {}}, key=opening) as first:
        handle = await a_handle(first)
    later = await token(short_stack, "lifetime-user", 600)
    end = await resumed_until_closed(short_stack, handle, later)
    assert (end.code, end.reason) == (1008, "token expired")
    assert time.monotonic() - started < MAX_SESSION_S - 2
