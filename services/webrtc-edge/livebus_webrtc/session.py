"""A WHIP peer as a livebus.edge Transport, and the starter that gives it a session.

The offer's POST checks the credential and takes a slot (refusals become HTTP statuses); the
session itself starts once the `setup` arrives on the data channel. Track audio (16 kHz PCM)
and gated video (JPEG) enter the session as the media of the realtimeInput messages a
WebSocket client sends (decoded already: no JSON or base64 in between), so they are charged,
timed and published exactly as on the gateway. When the setup
disables automatic activity detection (push-to-talk), track audio enters only inside the
client's activities, in order with its activity signals (activity.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from livebus import closecodes
from livebus.edge import entry
from livebus.edge.state import EdgeState
from livebus.edge.wire import Audio, ProtocolError, Video

from . import metrics
from .activity import ActivityGate
from .peer import Peer
from .playback import REPLY_RATE
from .uplink import BUS_RATE, Chunk
from .whip import Refused

log = logging.getLogger(__name__)

def _rate(mime: str) -> int:
    for param in mime.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key == "rate" and value.isdigit():
            return int(value)
    return REPLY_RATE


def close_message(code: int, reason: str) -> str:
    return json.dumps({"livebusClose": {"code": code, "reason": reason}})


def push_to_talk(setup: dict[str, Any]) -> bool:
    """The session's setup disabled automatic activity detection (either spelling)."""
    ric = setup.get("realtimeInputConfig", setup.get("realtime_input_config"))
    aad = ric.get("automaticActivityDetection", ric.get("automatic_activity_detection")) \
        if isinstance(ric, dict) else None
    return isinstance(aad, dict) and aad.get("disabled") is True


class PeerTransport:
    """livebus.edge.Transport over a Peer: the data channel for JSON, tracks for media."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.live = False  # track media enters only once the session has its setup
        self.gate = ActivityGate()  # its `ptt` is set with the setup
        self._timer: asyncio.TimerHandle | None = None
        peer.audio_sink = self._audio
        peer.video_sink = self._video
        peer.rtp_sink = self.gate.packet
        peer.message_sink = self._message

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _pass(self, texts: list[str]) -> None:
        for text in texts:
            self.peer.inbox.put_nowait(text)
        due = self.gate.next_due()
        if due is not None and self._timer is None:
            self._timer = asyncio.get_running_loop().call_at(due, self._due)

    def _due(self) -> None:
        self._timer = None
        self._pass(self.gate.due(self._now()))

    def _message(self, text: str) -> None:
        self._pass(self.gate.message(text, self._now()))

    async def _audio(self, chunk: Chunk) -> None:
        released, inside = self.gate.frame(chunk.timestamp, self._now(), chunk.pcm)
        self._pass(released)
        if not inside:
            reason = "ptt" if self.gate.ptt else "paused"
            metrics.GATED_SECONDS.labels(reason).inc(len(chunk.pcm) / 2 / BUS_RATE)
        elif self.live:
            self.peer.inbox.put_nowait(Audio(chunk.pcm, BUS_RATE))

    async def _video(self, jpeg: bytes) -> None:
        if self.live:
            self.peer.inbox.put_nowait(Video(jpeg, "image/jpeg"))

    async def receive(self) -> str | Audio | Video | None:
        return await self.peer.receive()

    async def send_text(self, text: str) -> None:
        await self.peer.send_text(text)

    async def send_audio(self, mime: str, pcm: bytes) -> None:
        await self.peer.send_audio(pcm, _rate(mime))

    def interrupted(self) -> None:
        self.peer.interrupt()

    async def close(self, code: int, reason: str) -> None:
        if self._timer is not None:
            self._timer.cancel()
        await self.peer.send_text(close_message(code, closecodes.clamp_reason(reason)))
        await self.peer.drain(1.0)  # the close message reaches the client before the peer ends
        await self.peer.close()


class Starter:
    """whip.Starter: credential and slot at the POST, the session once the setup arrives."""

    def __init__(self, state: EdgeState[Any], retry_after_s: int) -> None:
        self.state = state
        self.retry_after_s = retry_after_s
        self.tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, credential: str, peer: Peer) -> None:
        try:
            grant = entry.credential(self.state, {"authorization": f"Bearer {credential}"}, {})
            entry.admit(self.state, grant.user)
        except ProtocolError as e:
            status = entry.http_status(e)
            raise Refused(status, e.reason,
                          self.retry_after_s if status == 503 else None) from None
        task = asyncio.get_running_loop().create_task(self._session(peer, grant))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _session(self, peer: Peer, grant: Any) -> None:
        transport = PeerTransport(peer)
        try:
            try:
                first = await asyncio.wait_for(peer.receive(),
                                               self.state.settings.setup_timeout_s)
            except TimeoutError:
                raise ProtocolError(closecodes.INVALID_ARGUMENT, "no setup message") from None
            if first is None:
                return
            opening = entry.setup(self.state, first, grant)
            transport.gate.ptt = push_to_talk(opening.setup)
            transport.live = True
            await entry.run(self.state, transport, opening)
        except ProtocolError as e:
            await transport.close(e.code, e.reason)
        except Exception:
            log.exception("session failed")
            await transport.close(closecodes.INTERNAL, "internal error")
        finally:
            self.state.admission.release(grant.user)
            await peer.close()
