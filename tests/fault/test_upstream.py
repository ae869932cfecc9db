"""Upstream faults the conversation must survive: goAway mid-reply, drops, rejected handles."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from converse import CONFIG, Turn, read_turn
from google.genai import types
from google.genai.live import AsyncSession

from livebus_dev.devstack import Stack
from livebus_dev.testing.audio import chunks, silence, speech_like
from livebus_dev.testing.emulator import control, sessions
from livebus_dev.testing.stack import MODEL, gateway_client, running_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Replies at twice real time: slow enough to act in the middle of one. Server turn
    # detection: the tests count every second of uplink audio (silence too) across switches.
    with running_stack(tmp_path_factory.mktemp("faults"), emulator_pace=2.0,
                       extra_env={"LIVEBUS_BRIDGE_TURN_DETECTION": "server"}) as s:
        yield s


async def open_connection(stack: Stack) -> dict[str, Any]:
    async with control(stack) as c:
        live = (await c.get("/control/connections")).json()["connections"]
    assert len(live) == 1, live
    return dict(live[0])


async def post(stack: Stack, path: str, body: dict[str, Any]) -> None:
    async with control(stack) as c:
        (await c.post(path, json=body)).raise_for_status()


async def send_audio(session: AsyncSession, pcm: bytes, realtime: bool) -> None:
    for chunk in chunks(pcm):
        await session.send_realtime_input(
            audio=types.Blob(data=chunk, mime_type="audio/pcm;rate=16000"))
        if realtime:
            await asyncio.sleep(0.02)


async def ask(session: AsyncSession, text: str) -> None:
    await session.send_client_content(
        turns=types.Content(role="user", parts=[types.Part(text=text)]), turn_complete=True)


async def audio_seconds_received(stack: Stack, since: set[str]) -> float:
    return sum(s["audio_seconds"] for s in await sessions(stack) if s["id"] not in since)


async def test_goaway_mid_reply_repeated(stack: Stack) -> None:
    before = {s["id"] for s in await sessions(stack)}
    sent = 0.0
    async with gateway_client(stack).aio as client, client.live.connect(
            model=MODEL, config=CONFIG) as session:
        await ask(session, "tell me a story")
        baseline = await read_turn(session)
        assert baseline.audio_bytes > 0 and not baseline.interrupted
        for i in range(3):
            await ask(session, "tell me a story")
            started = asyncio.Event()
            reader = asyncio.create_task(read_turn(session, 1, started))
            await asyncio.wait_for(started.wait(), 10)
            conn = await open_connection(stack)
            await post(stack, f"/control/connections/{conn['id']}/goaway", {"time_left_s": 4})
            # The user keeps the microphone open (silence) while the bridge switches.
            await send_audio(session, silence(1.0), realtime=True)
            sent += 1.0
            turn: Turn = await asyncio.wait_for(reader, 20)
            assert turn.turn_complete and not turn.interrupted, f"round {i}: the reply was cut"
            assert turn.output_text == baseline.output_text
            assert turn.audio_bytes == baseline.audio_bytes, f"round {i}: reply audio lost"
            assert (await open_connection(stack))["id"] != conn["id"], "a new connection"
        # The next turn, spoken, is answered on the new connection.
        await send_audio(session, speech_like(1.0) + silence(0.6), realtime=False)
        sent += 1.6
        spoken = await asyncio.wait_for(read_turn(session), 20)
        assert "1.0 seconds" in spoken.output_text
    # Every second of uplink audio reached the upstream, across all connections.
    await asyncio.sleep(0.2)
    assert await audio_seconds_received(stack, before) == pytest.approx(sent, abs=0.03)
    records = [s for s in await sessions(stack) if s["id"] not in before]
    assert len(records) == 4
    assert all(r["resumed_from"] for r in records[1:]), "each switch resumed with a handle"


async def test_drop_1011_resumes(stack: Stack) -> None:
    async with gateway_client(stack).aio as client, client.live.connect(
            model=MODEL, config=CONFIG) as session:
        await ask(session, "first")
        assert "first" in (await read_turn(session)).output_text
        conn = await open_connection(stack)
        await post(stack, f"/control/connections/{conn['id']}/drop",
                   {"code": 1011, "reason": "Internal error occurred."})
        await ask(session, "second")
        turn = await asyncio.wait_for(read_turn(session), 20)
        assert "second" in turn.output_text
        now = await open_connection(stack)
        assert now["id"] != conn["id"] and now["resumed_from"], "resumed with the handle"


async def test_rejected_handle_rebuilds_from_shadow_log(stack: Stack) -> None:
    async with gateway_client(stack).aio as client, client.live.connect(
            model=MODEL, config=CONFIG) as session:
        await ask(session, "remember the blue bicycle")
        assert "blue bicycle" in (await read_turn(session)).output_text
        await send_audio(session, speech_like(0.8) + silence(0.6), realtime=False)
        await read_turn(session)
        conn = await open_connection(stack)
        # The upstream forgets every handle, then drops the connection.
        await post(stack, "/control/reset", {})
        await post(stack, f"/control/connections/{conn['id']}/drop",
                   {"code": 1011, "reason": "Internal error occurred."})
        await ask(session, "what did I say?")
        turn = await asyncio.wait_for(read_turn(session), 20)
        assert "what did I say?" in turn.output_text
        async with control(stack) as c:
            now = (await c.get("/control/connections")).json()["connections"][0]
            detail = (await c.get(f"/control/connections/{now['id']}")).json()
    assert detail["resumed_from"] is None, "a fresh upstream session"
    restored = str(detail["client_contents"][0])
    assert "remember the blue bicycle" in restored, "history rebuilt from the shadow log"
    assert "speech 0.80 s" in restored, "spoken turns too"


async def test_collapsed_context_after_resume_is_rebuilt(stack: Stack) -> None:
    """A resume that silently lost the conversation is caught by its prompt token count."""
    async with gateway_client(stack).aio as client, client.live.connect(
            model=MODEL, config=CONFIG) as session:
        for text in ("the parcel is in locker 12", "the code is 4417", "pick it up on Friday"):
            await ask(session, text)
            await read_turn(session)
        conn = await open_connection(stack)
        await post(stack, "/control/amnesia", {})
        await post(stack, f"/control/connections/{conn['id']}/drop",
                   {"code": 1011, "reason": "Internal error occurred."})
        await ask(session, "where is it?")  # answered by the amnesiac resumed connection
        await asyncio.wait_for(read_turn(session), 20)
        await ask(session, "and the code?")
        assert "and the code?" in (await asyncio.wait_for(read_turn(session), 20)).output_text
        now = await open_connection(stack)
    async with control(stack) as c:
        detail = (await c.get(f"/control/connections/{now['id']}")).json()
    assert detail["resumed_from"] is None, "a fresh session replaced the amnesiac one"
    restored = str(detail["client_contents"][0])
    for text in ("locker 12", "4417", "Friday", "where is it?"):
        assert text in restored, f"{text!r} rebuilt from the shadow log"
