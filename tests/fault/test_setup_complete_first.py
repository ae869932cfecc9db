"""setupComplete is the first message of every connection, fresh or resumed, on a busy machine:
what the downlink sends meanwhile (a resumed upstream's sessionResumptionUpdate) follows it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator

import pytest
from converse import CONFIG, read_turn
from google.genai import types
from google.genai.live import AsyncSession

from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import MODEL, gateway_client, running_stack

RESUMABLE = CONFIG.model_copy(update={"session_resumption": types.SessionResumptionConfig()})
RESUMPTIONS = 30


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("first"), emulator_pace=4.0) as s:
        yield s


@pytest.fixture
def busy() -> Iterator[None]:
    """Two busy loops: the machine's two cores are contended, as in the field report."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        yield
    finally:
        for p in loops:
            p.kill()
            p.wait()


async def next_handle(session: AsyncSession) -> str:
    async with asyncio.timeout(20):
        async for msg in session.receive():
            update = msg.session_resumption_update
            if update and update.resumable and update.new_handle:
                return update.new_handle
    raise AssertionError("no resumption handle")


async def test_setup_complete_first_on_every_resumption(stack: Stack, busy: None) -> None:
    async with gateway_client(stack).aio as client:
        async with client.live.connect(model=MODEL, config=RESUMABLE) as first:
            assert first.setup_complete is not None and first.session_id
            session_id = first.session_id
            await first.send_client_content(turns=types.Content(
                role="user", parts=[types.Part(text="remember the green heron")]),
                turn_complete=True)
            await asyncio.wait_for(read_turn(first), 30)
            handle = await next_handle(first)
        for i in range(RESUMPTIONS):
            config = RESUMABLE.model_copy(update={
                "session_resumption": types.SessionResumptionConfig(handle=handle)})
            async with client.live.connect(model=MODEL, config=config) as again:
                # connect() read the first message as the setup's answer
                assert again.setup_complete is not None, f"resumption {i}: not setupComplete"
                assert again.session_id == session_id, f"resumption {i}"
                # the resumed upstream's update was not lost: it follows setupComplete
                handle = await next_handle(again)
