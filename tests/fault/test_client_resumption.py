"""A client whose socket dropped resumes its session with its handle, through another gateway."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import httpx
import pytest
from converse import CONFIG, read_turn
from google.genai import errors, types
from google.genai.live import AsyncSession

from livebus import tls
from livebus_dev.devstack import Stack
from livebus_dev.testing.emulator import sessions
from livebus_dev.testing.stack import MODEL, gateway_client, running_stack

RESUMABLE = CONFIG.model_copy(update={"session_resumption": types.SessionResumptionConfig()})


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("resume"), gateways=2, bridges=2,
                       emulator_pace=4.0) as s:
        yield s


async def ask(session: AsyncSession, text: str) -> str:
    await session.send_client_content(
        turns=types.Content(role="user", parts=[types.Part(text=text)]), turn_complete=True)
    return (await asyncio.wait_for(read_turn(session), 15)).output_text


async def latest_handle(session: AsyncSession) -> str:
    async for msg in session.receive():
        update = msg.session_resumption_update
        if update and update.resumable and update.new_handle:
            return update.new_handle
    raise AssertionError("no resumption handle")


async def test_abrupt_drop_then_resume_through_the_other_gateway(stack: Stack) -> None:
    async with (gateway_client(stack, gateway=0).aio as client,
                client.live.connect(model=MODEL, config=RESUMABLE) as first):
        assert "red kite" in await ask(first, "remember the red kite")
        handle = await latest_handle(first)
        assert handle.startswith("livebus-h1."), "the client gets livebus's own handle"
        first._ws.transport.abort()  # type: ignore[attr-defined]  # no close frame
    resumed = RESUMABLE.model_copy(update={
        "session_resumption": types.SessionResumptionConfig(handle=handle)})
    async with gateway_client(stack, gateway=1).aio as client, client.live.connect(
            model=MODEL, config=resumed) as second:
        assert "what did I say?" in await ask(second, "what did I say?")
    last = (await sessions(stack))[-1]
    restored = str(last["restored_history"]) + str(last["client_contents"])
    assert last["resumed_from"] or "red kite" in restored, \
        "the same upstream session, or a rebuilt one with the full history"
    assert "red kite" in str(last["history"]) + restored


async def test_forged_or_foreign_handle_is_refused(stack: Stack) -> None:
    config = RESUMABLE.model_copy(update={
        "session_resumption": types.SessionResumptionConfig(handle="livebus-h1.forged")})
    async with gateway_client(stack).aio as client:
        with pytest.raises(errors.APIError) as info:
            async with client.live.connect(model=MODEL, config=config):
                pass
    assert info.value.code == 1007


async def test_transcript_through_the_gateway(stack: Stack) -> None:
    """The shadow log, read by a server key or by the session's own handle; nobody else."""
    async with gateway_client(stack).aio as client, client.live.connect(
            model=MODEL, config=RESUMABLE) as session:
        await ask(session, "note the green door")
        handle = await latest_handle(session)
        sid = session.session_id
    await asyncio.sleep(0.3)
    url = f"{stack.gateway_https()}/livebus/v1/sessions/{sid}/transcript"
    async with httpx.AsyncClient(verify=tls.client_context(stack.ca_file)) as http:
        by_key = await http.get(url, headers={"x-goog-api-key": stack.api_key})
        by_handle = await http.get(url, headers={"Authorization": f"Token {handle}"})
        stranger = await http.get(url, headers={"x-goog-api-key": "nope"})
    assert by_key.status_code == by_handle.status_code == 200
    entries = by_key.json()["entries"]
    assert [(e["role"], e["text"]) for e in entries] == [
        ("user", "note the green door"), ("model", "You wrote: note the green door")]
    assert by_handle.json() == by_key.json()
    assert stranger.status_code == 403


async def test_resume_after_the_gateway_died(stack: Stack) -> None:
    """The client's gateway is SIGKILLed: nobody tells the bridge the client left. Resuming
    through the other gateway takes the still-open session over from its bridge."""
    gateway0 = next(p for p in stack.procs if p.name == "gateway-0")
    async with gateway_client(stack, gateway=0).aio as client:
        session_cm = client.live.connect(model=MODEL, config=RESUMABLE)
        first = await session_cm.__aenter__()
        assert "blue boat" in await ask(first, "remember the blue boat")
        handle = await latest_handle(first)
        gateway0.kill()
        with contextlib.suppress(Exception):
            await session_cm.__aexit__(None, None, None)
    resumed = RESUMABLE.model_copy(update={
        "session_resumption": types.SessionResumptionConfig(handle=handle)})
    async with gateway_client(stack, gateway=1).aio as client, client.live.connect(
            model=MODEL, config=resumed) as second:
        assert "anything else?" in await ask(second, "anything else?")
    last = (await sessions(stack))[-1]
    assert "blue boat" in str(last["history"]) + str(last["restored_history"]) + str(
        last["client_contents"])
