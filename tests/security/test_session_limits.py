"""Concurrent sessions are limited per credential and per gateway (issue 12, item 4).

With 5 sessions per credential and 12 per gateway: 200 attempts from one token user get 5
sessions and 195 closes 1013 "too many sessions for this credential", while another user still
connects and talks; a server key is a credential of its own; at 12 the gateway refuses everyone
with 1013 "gateway at capacity" and /readyz is 503 until a session ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import httpx
import pytest

from livebus import closecodes
from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import MODEL, mint, running_stack

from .gatewayclient import Live, attempt, open_live, turn_text

PER_USER, PER_GATEWAY = 5, 12


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {"LIVEBUS_GATEWAY_MAX_SESSIONS_PER_USER": str(PER_USER),
           "LIVEBUS_GATEWAY_MAX_SESSIONS": str(PER_GATEWAY)}
    with running_stack(tmp_path_factory.mktemp("limits"), extra_env=env) as s:
        yield s


async def readyz(stack: Stack) -> int:
    async with httpx.AsyncClient() as c:
        return (await c.get(f"{stack.gateway_http()}/readyz")).status_code


async def test_one_credential_cannot_take_the_gateway(stack: Stack) -> None:
    alice = await mint(stack, {"uses": 200, "livebus": {"user": "alice"}})
    held = [await open_live(stack, alice) for _ in range(PER_USER)]
    try:
        refused = []
        for _ in range(0, 200 - PER_USER, 39):  # the other 195 attempts, 39 at a time
            refused += await asyncio.gather(*(attempt(stack, {"model": MODEL}, alice)
                                              for _ in range(39)))
        assert len(refused) == 200 - PER_USER
        assert {(o.code, o.reason) for o in refused} == {
            (closecodes.TRY_AGAIN, "too many sessions for this credential")}
        assert not any(o.opened for o in refused)

        bob = await mint(stack, {"livebus": {"user": "bob"}})
        ws, _ = await open_live(stack, bob)
        async with ws:
            assert "still here" in turn_text(await Live(ws).say("still here")).lower()
        server = await attempt(stack, {"model": MODEL}, timeout=3)
        assert server.opened, "a server key is a credential of its own"
    finally:
        for ws, _ in held:
            await ws.close()


async def test_a_full_gateway_refuses_and_is_not_ready(stack: Stack) -> None:
    await asyncio.sleep(0.5)  # the previous test's sessions are gone
    assert await readyz(stack) == 200
    tokens = [await mint(stack, {"livebus": {"user": f"u{i}"}}) for i in range(PER_GATEWAY + 1)]
    held = [await open_live(stack, t) for t in tokens[:PER_GATEWAY]]
    try:
        out = await attempt(stack, {"model": MODEL}, tokens[-1])
        assert (out.code, out.reason) == (closecodes.TRY_AGAIN, "gateway at capacity")
        assert await readyz(stack) == 503
        ws, _ = held.pop()
        await ws.close()
        for _ in range(50):
            if await readyz(stack) == 200:
                break
            await asyncio.sleep(0.1)
        assert await readyz(stack) == 200
    finally:
        for ws, _ in held:
            with contextlib.suppress(Exception):
                await ws.close()
