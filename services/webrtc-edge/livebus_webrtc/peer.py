"""One client's peer connection: the offer checked and answered (every candidate in the answer),
its audio decoded to bus PCM, its video gated, the `gemini` data channel, the reply track.

What the session does with the media and the channel's messages is set through the sinks (by
default the messages go to the inbox); `receive()` gives the inbox (None once the peer is
gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.sdp import SessionDescription

from livebus.edge.wire import Audio, Video

from . import metrics
from .playback import REPLY_RATE, ReplyTrack
from .settings import WebRTCSettings
from .uplink import Chunk, UplinkAudio, decode_inline, stamp_packets
from .video import VideoGate

log = logging.getLogger(__name__)

CHANNEL_LABEL = "gemini"
Sink = Callable[[bytes], Awaitable[None]]
AudioSink = Callable[[Chunk], Awaitable[None]]


class BadOffer(ValueError):
    """Not an SDP offer this edge answers (the reason is safe to show the client)."""


def check_offer(sdp: str) -> None:
    """One audio section (sendrecv), at most one video section, one data channel section."""
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception:
        raise BadOffer("the body is not an SDP offer") from None
    kinds = [m.kind for m in parsed.media]
    if kinds.count("audio") != 1 or kinds.count("video") > 1 or kinds.count("application") != 1:
        raise BadOffer("the offer needs one audio track, a data channel, and at most one video")
    audio = next(m for m in parsed.media if m.kind == "audio")
    if audio.direction not in (None, "sendrecv"):
        raise BadOffer("the audio track must be sendrecv")
    if any(m.kind not in ("audio", "video", "application") for m in parsed.media):
        raise BadOffer("the offer has an unknown media section")


async def _discard(_: bytes | Chunk) -> None:
    return None


def _ignore(_: int) -> None:
    return None


class Peer:
    def __init__(self, settings: WebRTCSettings) -> None:
        self.settings = settings
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[],
                                                     bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.reply = ReplyTrack(settings.playback_max_s)
        self.uplink = UplinkAudio()
        self.video = VideoGate(settings.video_max_fps, settings.video_max_side,
                               settings.video_jpeg_qscale)
        self.audio_sink: AudioSink = _discard  # 16 kHz PCM16 mono from the client
        self.video_sink: Sink = _discard   # JPEG within video_max_side
        self.rtp_sink: Callable[[int], None] = _ignore  # each audio packet's RTP timestamp
        self.channel: RTCDataChannel | None = None
        self.inline_audio = False  # Opus decoded by the edge itself (uplink.decode_inline)
        self.stamped_audio = False  # audio carries its RTP timestamps (uplink.stamp_packets)
        self.channel_open = asyncio.Event()
        self.closed = asyncio.Event()
        # Data channel messages, and the tracks' media once decoded (session.py).
        self.inbox: asyncio.Queue[str | Audio | Video | None] = asyncio.Queue()
        self.message_sink: Callable[[str], None] = self.inbox.put_nowait
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)
        self.pc.on("datachannel", self._on_channel)
        self.pc.on("connectionstatechange", self._on_state)

    async def answer(self, offer_sdp: str) -> str:
        """The SDP answer to `offer_sdp` (BadOffer when it is not one to answer)."""
        check_offer(offer_sdp)
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        except Exception:
            raise BadOffer("the offer could not be applied") from None
        self.pc.addTrack(self.reply)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    # -- from the client ----------------------------------------------------------------------

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self.inline_audio = decode_inline(self.pc, track)
            self.stamped_audio = stamp_packets(self.pc, track, lambda ts: self.rtp_sink(ts))
        pump = self._audio if track.kind == "audio" else self._video
        self._tasks.append(asyncio.create_task(pump(track)))

    async def _audio(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()  # a Chunk from decode_inline, else an AudioFrame
                pcm = self.uplink.convert(frame)  # type: ignore[arg-type]
                if pcm:
                    stamp = frame.timestamp if isinstance(frame, Chunk) else None
                    await self.audio_sink(Chunk(pcm, stamp))

    async def _video(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:  # every frame is taken (aiortc queues them unbounded), few converted
                jpeg = self.video.offer(await track.recv())  # type: ignore[arg-type]
                metrics.VIDEO_FRAMES.labels("dropped" if jpeg is None else "encoded").inc()
                if jpeg is not None:
                    await self.video_sink(jpeg)

    def _on_channel(self, channel: RTCDataChannel) -> None:
        if channel.label != CHANNEL_LABEL or self.channel is not None:
            channel.close()
            return
        self.channel = channel
        channel.on("message", self._on_message)
        channel.on("close", lambda: self.inbox.put_nowait(None))
        self.channel_open.set()

    def _on_message(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            message = message.decode("utf-8", errors="replace")
        self.message_sink(message)

    async def _on_state(self) -> None:
        if self.pc.connectionState in ("failed", "closed"):
            await self.close()

    async def receive(self) -> str | Audio | Video | None:
        """The next data channel message or decoded media; None once the channel or the peer
        is gone."""
        return await self.inbox.get()

    # -- to the client ------------------------------------------------------------------------

    async def send_text(self, text: str) -> None:
        if self.channel is not None and self.channel.readyState == "open":
            self.channel.send(text)

    async def send_audio(self, pcm: bytes, rate: int = REPLY_RATE) -> None:
        self.reply.push(pcm, rate)

    def interrupt(self) -> None:
        """Reply playback stops: what is queued is dropped."""
        metrics.PLAYBACK_FLUSHED_BYTES.inc(self.reply.flush())

    async def drain(self, timeout: float) -> None:
        """Wait (at most `timeout`) until the data channel has sent what it holds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (self.channel is not None and self.channel.readyState == "open"
               and self.channel.bufferedAmount > 0 and loop.time() < deadline):
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        self.inbox.put_nowait(None)
        for task in self._tasks:
            task.cancel()
        self.reply.stop()
        await self.pc.close()
