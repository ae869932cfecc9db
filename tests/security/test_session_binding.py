"""A session has one socket, a maximum duration, and ends when its token expires.

Issue 12 item 8: a socket replaced by a resumption elsewhere stayed open and kept receiving
replies; sessions outlived their token and had no duration limit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from google.genai import types
from websockets.asyncio.client import ClientConnection

from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import gateway_client, running_stack

from .livews import ending, live_socket, typed_turn

MAX_SESSION_S = 10


@pytest.fixture(scope="module")
def short_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {"LIVEBUS_GATEWAY_MAX_SESSION_S": str(MAX_SESSION_S)}
    with running_stack(tmp_path_factory.mktemp("binding"), extra_env=env, gateways=2) as s:
        yield s


async def next_handle(ws: ClientConnection, seen: list[dict[str, Any]]) -> str:
    """The first handle in what was seen, else in what comes next."""
    async with asyncio.timeout(15):
        while True:
            for m in seen:
                h = (m.get("sessionResumptionUpdate") or {}).get("newHandle")
                if h:
                    return str(h)
            seen = [json.loads(await ws.recv())]


async def test_resuming_elsewhere_closes_the_old_socket(short_stack: Stack) -> None:
    """A on gateway 0, B resumes its session through gateway 1."""
    async with live_socket(short_stack, {"sessionResumption": {}}) as a:
        handle = await next_handle(a, await typed_turn(a, "first"))
        assert handle.startswith("livebus-h1.")
        async with live_socket(short_stack, {"sessionResumption": {"handle": handle}},
                               gateway=1) as b:
            reply = await typed_turn(b, "second")
            assert any("serverContent" in m for m in reply)
            old = await ending(a, 5)
    assert (old.code, old.reason) == (1000, "session resumed on another connection")
    assert not [m for m in old.received if "serverContent" in json.loads(m)], \
        "the replaced socket got a reply meant for the new one"


async def test_max_duration_and_token_expiry_end_sessions(short_stack: Stack) -> None:
    now = dt.datetime.now(dt.UTC)
    async with gateway_client(short_stack).aio as server:
        token = await server.auth_tokens.create(config=types.CreateAuthTokenConfig(
            uses=1, expire_time=now + dt.timedelta(seconds=4),
            new_session_expire_time=now + dt.timedelta(seconds=3)))
    assert token.name

    async def lifetime(key: str | None) -> tuple[float, int | None, str]:
        started = time.monotonic()
        async with live_socket(short_stack, key=key) as ws:
            end = await ending(ws, MAX_SESSION_S + 10)
        return time.monotonic() - started, end.code, end.reason

    (long_s, *long_end), (token_s, *token_end) = await asyncio.gather(
        lifetime(None), lifetime(token.name))
    assert long_end == [1008, "maximum session duration reached"]
    assert MAX_SESSION_S - 1 <= long_s < MAX_SESSION_S + 5
    assert token_end == [1008, "token expired"]
    assert token_s < MAX_SESSION_S - 2
