"""Input audio at any rate from 8 to 48 kHz reaches the upstream as 16 kHz of the same duration
and pitch (the relay between bridge and emulator records what the bridge sent)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import websockets

from livebus import b64, tls
from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import MODEL
from livebus_dev.testing.upstream_tap import Tap, tapped_stack

PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
PITCH = 440.0
SPEECH_S, SILENCE_S = 1.0, 1.0


@pytest.fixture(scope="module")
def tapped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Tap]]:
    # Server turn detection: every resampled sample goes upstream, the silence too.
    with tapped_stack(Path(tmp_path_factory.mktemp("rates")),
                      extra_env={"LIVEBUS_BRIDGE_TURN_DETECTION": "server"}) as st:
        yield st


def tone(rate: int) -> bytes:
    t = np.arange(int(SPEECH_S * rate)) / rate
    voiced = np.sin(2 * np.pi * PITCH * t) * 12000
    return np.concatenate([voiced, np.zeros(int(SILENCE_S * rate))]).astype("<i2").tobytes()


def dominant(pcm: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    return float(np.fft.rfftfreq(len(pcm), 1 / rate)[int(np.argmax(spectrum))])


async def upstream_audio(tap: Tap, samples: int) -> np.ndarray:
    """The bridge's audio frames so far, once they hold `samples` (16 kHz) or time runs out."""
    async with asyncio.timeout(20):
        while True:
            frames = tap.realtime("audio")
            assert all(f.get("mime_type", f.get("mimeType")) == "audio/pcm;rate=16000"
                       for f in frames)
            pcm = np.frombuffer(b"".join(b64.decode(f["data"]) for f in frames), "<i2")
            if len(pcm) >= samples:
                return pcm
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("rate", [8000, 24000, 44100, 48000])
async def test_speech_at_any_rate_reaches_the_upstream_as_16k(tapped: tuple[Stack, Tap],
                                                              rate: int) -> None:
    stack, tap = tapped
    tap.sent.clear()
    url = stack.gateway_https().replace("https://", "wss://") + PATH
    pcm = tone(rate)
    step = rate // 50 * 2  # 20 ms chunks
    async with websockets.connect(url, ssl=tls.client_context(stack.ca_file), max_size=None,
                                  additional_headers={"x-goog-api-key": stack.api_key},
                                  close_timeout=1) as ws:
        await ws.send(json.dumps({"setup": {"model": MODEL}}))
        assert "setupComplete" in json.loads(await ws.recv())
        for i in range(0, len(pcm), step):
            await ws.send(json.dumps({"realtimeInput": {"audio": {
                "mimeType": f"audio/pcm;rate={rate}", "data": b64.encode(pcm[i:i + step])}}}))
        expected = int((SPEECH_S + SILENCE_S) * 16000)
        # All of it but the few ms the resampler holds until more audio pushes them out.
        got = await upstream_audio(tap, expected - 16000 * 70 // 1000)
    assert len(got) <= expected + 2
    voiced = got[200:int(SPEECH_S * 16000) - 200]
    assert abs(dominant(voiced, 16000) - PITCH) < 3.0
    quiet = got[int(SPEECH_S * 16000) + 16000 * 80 // 1000:]  # past the filter's delay
    assert np.sqrt(np.mean(quiet.astype(np.float64) ** 2)) < 50, "the silence stayed silent"


async def test_rates_outside_the_range_are_refused(tapped: tuple[Stack, Tap]) -> None:
    stack, _ = tapped
    url = stack.gateway_https().replace("https://", "wss://") + PATH
    async with websockets.connect(url, ssl=tls.client_context(stack.ca_file),
                                  additional_headers={"x-goog-api-key": stack.api_key}) as ws:
        await ws.send(json.dumps({"setup": {"model": MODEL}}))
        assert "setupComplete" in json.loads(await ws.recv())
        await ws.send(json.dumps({"realtimeInput": {"audio": {
            "mimeType": "audio/pcm;rate=96000", "data": b64.encode(b"\0\0" * 960)}}}))
        with pytest.raises(websockets.ConnectionClosed) as e:
            await asyncio.wait_for(ws.recv(), 10)
    assert e.value.rcvd is not None and e.value.rcvd.code == 1007
    assert "8000 to 48000 Hz" in e.value.rcvd.reason
