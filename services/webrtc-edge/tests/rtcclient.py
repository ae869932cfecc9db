"""A WHIP client made of aiortc, for the tests: a tone on the audio track, the `gemini` channel,
levels of what plays on the return track."""

from __future__ import annotations

import asyncio
import fractions
import time
from dataclasses import dataclass, field

import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame


class ToneTrack(MediaStreamTrack):
    """440 Hz at half scale, 20 ms frames at 48 kHz, paced in real time."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._pts += 960
            await asyncio.sleep(max(0.0, self._start + self._pts / 48000 - time.monotonic()))
        t = (self._pts + np.arange(960)) / 48000
        pcm = (0.5 * 32767 * np.sin(2 * np.pi * 440 * t)).astype("<i2").reshape(1, -1)
        frame = AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate, frame.pts = 48000, self._pts
        frame.time_base = fractions.Fraction(1, 48000)
        return frame


@dataclass
class Client:
    pc: RTCPeerConnection = field(default_factory=lambda: RTCPeerConnection(
        RTCConfiguration(iceServers=[])))  # never a STUN server (aiortc's default is Google's)
    channel: RTCDataChannel | None = None
    messages: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    levels: list[tuple[float, int]] = field(default_factory=list)  # (monotonic, peak)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def offer(self, audio: bool = True, channel: bool = True) -> str:
        if audio:
            self.pc.addTransceiver(ToneTrack(), direction="sendrecv")
        if channel:
            self.channel = self.pc.createDataChannel("gemini")
            self.channel.on("message", self.messages.put_nowait)
        self.pc.on("track", self._on_track)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))

    def _on_track(self, track: MediaStreamTrack) -> None:
        async def meter() -> None:
            try:
                while True:
                    frame = await track.recv()
                    pcm = frame.to_ndarray()  # type: ignore[union-attr]
                    self.levels.append((time.monotonic(), int(np.abs(pcm).max())))
            except MediaStreamError:
                return
        self.tasks.append(asyncio.create_task(meter()))

    async def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        await self.pc.close()
