"""One stack with a known reply delay, a Prometheus scraping it, and one conversation that
exercises every dashboard panel (audio, video, tools, a goAway handoff, rejected input)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np
import pytest
from converse import read_turn
from google.genai import errors, types
from google.genai.live import AsyncSession
from websockets.exceptions import ConnectionClosed

from livebus_dev.devstack import Stack
from livebus_dev.testing.audio import chunks, silence, speech_like
from livebus_dev.testing.emulator import control
from livebus_dev.testing.stack import MODEL, gateway_client, running_stack

from .prometheus import Prometheus

REPLY_DELAY_MS = 300
SILENCE_MS = 200
ENV = {"LIVEBUS_EMULATOR_REPLY_DELAY_MS": str(REPLY_DELAY_MS),
       # the melody instead of espeak-ng: the emulator's own time to first byte stays ~1 ms
       "LIVEBUS_EMULATOR_SPEECH_SYNTHESIS": "false",
       "LIVEBUS_GATEWAY_USAGE_TOP_REFRESH_S": "1",  # the top users panel fills within seconds
       # Server turn detection: the TTFAB tests place the turn's end in the upstream's audio
       # clock, which counts every sample the client sent only when all of them go up.
       "LIVEBUS_BRIDGE_TURN_DETECTION": "server"}
SPOKEN = types.LiveConnectConfig(
    response_modalities=[types.Modality.AUDIO],
    realtime_input_config=types.RealtimeInputConfig(
        automatic_activity_detection=types.AutomaticActivityDetection(
            silence_duration_ms=SILENCE_MS)))


@pytest.fixture(scope="package")
def obs_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("obs"), extra_env=ENV) as s:
        yield s


@pytest.fixture(scope="package")
def prometheus(obs_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    prom = Prometheus(obs_stack, tmp_path_factory.mktemp("prometheus")).start()
    try:
        yield prom
    finally:
        prom.stop()


async def speak_realtime(session: AsyncSession, pcm: bytes) -> list[float]:
    """Send 20 ms chunks on a real-time schedule; returns when each was sent (monotonic)."""
    start = time.monotonic()
    sent = []
    for i, chunk in enumerate(chunks(pcm)):
        await asyncio.sleep(max(0.0, start + i * 0.02 - time.monotonic()))
        await session.send_realtime_input(
            audio=types.Blob(data=chunk, mime_type="audio/pcm;rate=16000"))
        sent.append(time.monotonic())
    return sent


def jpeg(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    img = cv2.resize(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8), (640, 480),
                     interpolation=cv2.INTER_NEAREST)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return bytes(buf)


@dataclass
class Scenario:
    session_ids: list[str] = field(default_factory=list)
    frames_sent: int = 0


async def _camera(session: AsyncSession, scenario: Scenario, stop: asyncio.Event) -> None:
    frames = [jpeg(i) for i in range(4)]
    while not stop.is_set():
        await session.send_realtime_input(
            video=types.Blob(data=frames[scenario.frames_sent // 3 % 4], mime_type="image/jpeg"))
        scenario.frames_sent += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.2)


async def _text_turn(session: AsyncSession, text: str) -> None:
    await session.send_realtime_input(text=text)
    await asyncio.wait_for(read_turn(session), 20)


async def _goaway(stack: Stack) -> None:
    async with control(stack) as c:
        conns = (await c.get("/control/connections")).json()["connections"]
        r = await c.post(f"/control/connections/{conns[-1]['id']}/goaway",
                         json={"time_left_s": 1.0})
        r.raise_for_status()


async def run_scenario(stack: Stack) -> Scenario:
    scenario = Scenario()
    # A refused credential and a session closed for bad input: the error panels.
    with contextlib.suppress(errors.APIError, ConnectionClosed):
        async with gateway_client(stack, api_key="not-a-key").aio as bad, \
                bad.live.connect(model=MODEL) as s:
            await s.send_realtime_input(text="hi")
            await read_turn(s)
    async with gateway_client(stack).aio as client:
        with contextlib.suppress(errors.APIError, ConnectionClosed):
            async with client.live.connect(model=MODEL) as s:
                await s.send_realtime_input(audio=types.Blob(data=b"\0\0", mime_type="audio/wav"))
                await read_turn(s)
        async with client.live.connect(model=MODEL, config=SPOKEN) as session:
            assert session.session_id
            scenario.session_ids.append(session.session_id)
            stop = asyncio.Event()
            camera = asyncio.create_task(_camera(session, scenario, stop))
            try:
                for turn in range(2):
                    await speak_realtime(session, speech_like(0.6) + silence(0.4))
                    await asyncio.wait_for(read_turn(session), 20)
                    await _text_turn(session, 'get_current_time {"timezone": "UTC"}')
                    if turn == 0:
                        await _goaway(stack)
                        await asyncio.sleep(1.2)  # the bridge switches at the turn boundary
            finally:
                stop.set()
                await camera
    await asyncio.sleep(2.5)  # two more scrapes
    return scenario


@pytest.fixture(scope="package")
def scenario(obs_stack: Stack, prometheus: Prometheus) -> Scenario:
    prometheus.wait_for_targets(5)
    return asyncio.run(run_scenario(obs_stack))
