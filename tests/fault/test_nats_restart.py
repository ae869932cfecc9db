"""NATS goes away for two seconds: sessions continue afterwards and no service crashes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from converse import CONFIG, read_turn
from google.genai import types

from livebus_dev import procs
from livebus_dev.devstack import Stack
from livebus_dev.procs import Proc
from livebus_dev.testing.stack import MODEL, gateway_client, running_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("nats"), bridges=2, emulator_pace=4.0) as s:
        yield s


async def test_sessions_survive_a_nats_restart(stack: Stack) -> None:
    nats = next(p for p in stack.procs if p.name == "nats")
    async with gateway_client(stack).aio as client, client.live.connect(
            model=MODEL, config=CONFIG) as session:
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text="before")]))
        assert "before" in (await read_turn(session)).output_text

        nats.kill()
        await asyncio.sleep(2.0)
        restarted = Proc("nats", nats.argv, nats.env, nats.log_path).start()
        stack.procs[stack.procs.index(nats)] = restarted
        procs.wait_tcp(stack.cfg.nats_port)
        await asyncio.sleep(1.5)  # clients reconnect (0.25 s steps), leases are renewed

        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text="after")]))
        turn = await asyncio.wait_for(read_turn(session), 15)
        assert "after" in turn.output_text

    dead = [p.name for p in stack.procs if not p.alive()]
    assert not dead, f"crashed: {dead}"
    # And new sessions open as before.
    async with gateway_client(stack).aio as client, client.live.connect(
            model=MODEL, config=CONFIG) as session:
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text="new")]))
        assert "new" in (await asyncio.wait_for(read_turn(session), 15)).output_text
