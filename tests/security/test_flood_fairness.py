"""A flooding client is closed (1008) before it slows anyone else; nobody else's session moves.

Issue 12 item 3: one message with 60,000 mediaChunks counted once against the message rate but
became 60,000 NATS publishes; three of them delayed bridge heartbeats until the gateway moved an
innocent session. Here three sockets flood with such messages (reconnecting when closed) and one
floods with many small multi-chunk messages, while a well-behaved SDK session takes turns.
And a credential's sessions share one budget: together they are closed past it, each within
its own, while another credential's session is not charged.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets
from converse import read_turn
from google.genai import types
from google.genai.live import AsyncSession
from websockets.asyncio.client import ClientConnection

from livebus_dev.devstack import Stack
from livebus_dev.testing.observe import merged, scrape
from livebus_dev.testing.stack import MODEL, gateway_client, running_stack

from .livews import PATH, Ending, ending, live_socket, typed_turn

PCM_20MS = {"mimeType": "audio/pcm;rate=16000", "data": base64.b64encode(b"\0" * 640).decode()}
MOVES = "livebus_gateway_session_moves_total"
FLOODERS = Path(__file__).with_name("flood_clients.py")


@pytest.fixture(scope="module")
def flood_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("flood"), bridges=2) as s:
        yield s


async def start_flooders(stack: Stack) -> asyncio.subprocess.Process:
    url = stack.gateway_https().replace("https://", "wss://") + PATH
    return await asyncio.create_subprocess_exec(
        sys.executable, str(FLOODERS), url, str(stack.ca_file), stack.api_key, MODEL,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)


async def timed_turns(session: AsyncSession, n: int) -> list[float]:
    took = []
    for i in range(n):
        started = time.monotonic()
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text=f"turn {i}")]),
            turn_complete=True)
        turn = await asyncio.wait_for(read_turn(session), 30)
        assert turn.audio_bytes > 0 and turn.turn_complete
        took.append(time.monotonic() - started)
    return took


async def moves(stack: Stack) -> float:
    samples = merged(await scrape(stack, ["gateway"]))
    return sum(v for (name, _), v in samples.items() if name == MOVES)


async def test_flooders_are_closed_and_a_good_session_keeps_its_latency(
        flood_stack: Stack) -> None:
    moved_before = await moves(flood_stack)
    async with gateway_client(flood_stack).aio as client, \
            client.live.connect(model=MODEL, config=types.LiveConnectConfig(
                response_modalities=[types.Modality.AUDIO])) as session:
        baseline = await timed_turns(session, 3)
        floods = await start_flooders(flood_stack)
        await asyncio.sleep(0.3)  # the floods are under way
        during = await timed_turns(session, 4)
        assert floods.stdin is not None
        floods.stdin.write(b"stop\n")  # each flooder ends after its round
        out, _ = await asyncio.wait_for(floods.communicate(), 120)
        endings = [Ending(**json.loads(line)) for line in out.decode().splitlines()]
    assert endings
    for e in endings:
        assert (e.code, e.reason.startswith("rate limit exceeded")) == (1008, True), e
    print(f"turn seconds alone {baseline}, during the floods {during}")
    assert max(during) < max(baseline) + 1.0, (baseline, during)
    assert await moves(flood_stack) == moved_before, "the good session was moved"
    log = (flood_stack.cfg.dir / "logs" / "gateway-0.log").read_text()
    assert "moving the session" not in log
    assert "Traceback" not in log


@pytest.fixture(scope="module")
def tight_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A per-credential chunk budget two sessions together exceed, each within its own."""
    env = {"LIVEBUS_GATEWAY_CREDENTIAL_CHUNKS_PER_SECOND": "100",
           "LIVEBUS_GATEWAY_CREDENTIAL_BURST_CHUNKS": "150"}
    with running_stack(tmp_path_factory.mktemp("credential"), extra_env=env) as s:
        yield s


async def stream_audio(ws: ClientConnection, seconds: float, per_second: int) -> Ending:
    """Audio chunks at a steady rate; the ending if the gateway closes the socket."""
    frame = json.dumps({"realtimeInput": {"audio": PCM_20MS}})
    # On a schedule, not a sleep per chunk: on a loaded machine each sleep overruns, and two
    # sessions at 80 a second then sent too few together to spend the credential's burst.
    start = time.monotonic()
    try:
        for i in range(int(seconds * per_second)):
            await ws.send(frame)
            await asyncio.sleep(max(0.0, start + (i + 1) / per_second - time.monotonic()))
    except websockets.ConnectionClosed:
        return await ending(ws, 5)
    return Ending()


async def test_a_credential_shares_one_budget(tight_stack: Stack) -> None:
    now = dt.datetime.now(dt.UTC)
    async with gateway_client(tight_stack).aio as server:
        token = await server.auth_tokens.create(config=types.CreateAuthTokenConfig(
            uses=1, expire_time=now + dt.timedelta(minutes=5)))
    assert token.name
    async with live_socket(tight_stack) as a, live_socket(tight_stack) as b, \
            live_socket(tight_stack, key=token.name) as other:
        same = [stream_audio(ws, 4, 80) for ws in (a, b)]
        *endings, bystander = await asyncio.gather(*same, stream_audio(other, 4, 80))
        assert bystander.code is None, "another credential is not charged"
        assert any("serverContent" in m for m in await typed_turn(other, "still here"))
    reasons = [(e.code, e.reason) for e in endings if e.code is not None]
    assert (1008, "rate limit exceeded: media chunks for this credential") in reasons
