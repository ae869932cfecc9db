"""One client connection: Gemini Live frames <-> the session's NATS subjects."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from typing import Any

from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from livebus import b64, closecodes, headers, subjects
from livebus.logs import session_id_var
from livebus.v1 import bus_pb2

from . import metrics, wire
from .buses import GatewayBus
from .settings import GatewaySettings
from .tokens import Grant
from .wire import ProtocolError

log = logging.getLogger(__name__)

_AUDIO_HEAD = '{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"'
_AUDIO_MID = '","data":"'
_AUDIO_TAIL = '"}}]}}}'


class RateLimiter:
    """Token bucket over messages; a flood closes the session instead of starving others."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.capacity = float(burst)
        self.tokens = float(burst)
        self.last = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class ClientSession:
    def __init__(self, ws: WebSocket, bus: GatewayBus, settings: GatewaySettings,
                 grant: Grant, setup: dict[str, Any]) -> None:
        self.ws = ws
        self.bus = bus
        self.settings = settings
        self.grant = grant
        self.setup = setup
        self.id = uuid.uuid4().hex
        self.closed = asyncio.Event()
        self.close_code = closecodes.NORMAL
        self.close_reason = ""
        self.audio_seq = 0
        self._send_lock = asyncio.Lock()

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self) -> None:
        session_id_var.set(self.id)
        sub = await self.bus.main.subscribe(subjects.down_all(self.id), cb=self._on_down,
                                            pending_msgs_limit=65536,
                                            pending_bytes_limit=64 * 1024 * 1024)
        metrics.SESSIONS.inc()
        try:
            reply = await self._open()
            if not reply.ok:
                raise ProtocolError(reply.error.code or closecodes.INTERNAL, reply.error.reason)
            log.info("session open on bridge %s", reply.bridge_id)
            complete = json.loads(reply.setup_complete_json or b"{}")
            complete["sessionId"] = self.id  # livebus's id: transcripts are read by it
            await self._send_text(json.dumps({"setupComplete": complete}))
            reader = asyncio.create_task(self._uplink())
            closer = asyncio.create_task(self.closed.wait())
            done, _ = await asyncio.wait({reader, closer}, return_when=asyncio.FIRST_COMPLETED)
            for t in (reader, closer):
                if t not in done:
                    t.cancel()
            if reader in done and reader.exception() is not None:
                raise reader.exception()  # type: ignore[misc]
        except ProtocolError as e:
            metrics.REJECTED_MESSAGES.labels(_reason_label(e)).inc()
            log.info("closing session: %s %s", e.code, e.reason)
            self.close_code, self.close_reason = e.code, e.reason
        finally:
            metrics.SESSIONS.dec()
            await self._tell_bridge_closed()
            with contextlib.suppress(Exception):  # a reconnecting connection drops it anyway
                await sub.unsubscribe()
            await self._close_ws()

    async def _open(self) -> bus_pb2.OpenSessionReply:
        setup = dict(self.setup)
        model = setup.pop("model")
        req = bus_pb2.OpenSession(
            session_id=self.id,
            model=model,
            setup_json=json.dumps(setup).encode(),
            user=self.grant.user,
            allowed_tools=self.grant.tools or [],
            gateway_id=self.settings.instance_id,
        ).SerializeToString()
        last = bus_pb2.OpenSessionReply(
            ok=False, error=bus_pb2.Close(code=closecodes.TRY_AGAIN, reason="no bridge available")
        )
        for attempt in range(self.settings.open_attempts):
            try:
                msg = await self.bus.main.request(subjects.BRIDGE_OPEN, req,
                                                  timeout=self.settings.open_timeout_s)
            except NoRespondersError:
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            except NatsTimeout:
                last = bus_pb2.OpenSessionReply(ok=False, error=bus_pb2.Close(
                    code=closecodes.INTERNAL, reason="upstream session did not open in time"))
                continue
            reply = bus_pb2.OpenSessionReply.FromString(msg.data)
            if reply.ok or reply.error.code != closecodes.TRY_AGAIN:
                return reply
            last = reply
        return last

    async def _tell_bridge_closed(self) -> None:
        ev = bus_pb2.ClientEvent(close=bus_pb2.Close(code=self.close_code,
                                                     reason=self.close_reason or "client left"))
        try:
            await self.bus.main.publish(subjects.up_ctl(self.id), ev.SerializeToString())
        except Exception as e:
            log.warning("could not tell the bridge the session closed: %s", e)

    async def _close_ws(self) -> None:
        if self.ws.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await self.ws.close(self.close_code, closecodes.clamp_reason(self.close_reason))

    # -- uplink ------------------------------------------------------------------------------

    async def _uplink(self) -> None:
        limiter = RateLimiter(self.settings.max_messages_per_second, self.settings.burst_messages)
        max_bytes = self.settings.max_message_bytes
        while True:
            try:
                frame = await self.ws.receive()
            except WebSocketDisconnect:
                return
            if frame["type"] == "websocket.disconnect":
                self.close_reason = "client left"
                return
            data: str | bytes | None = frame.get("text")
            if data is None:
                data = frame.get("bytes") or b""
            if len(data) > max_bytes:
                raise ProtocolError(closecodes.TOO_BIG,
                                    f"message of {len(data)} bytes exceeds {max_bytes}")
            if not limiter.allow():
                raise ProtocolError(closecodes.POLICY, "too many messages: rate limit exceeded")
            for action in wire.parse_client_frame(data, self.settings.max_frame_bytes):
                await self._publish(action)

    async def _publish(self, action: wire.Action) -> None:
        if isinstance(action, wire.Audio):
            self.audio_seq += 1
            metrics.AUDIO_IN_BYTES.inc(len(action.pcm))
            await self.bus.main.publish(
                subjects.up_audio(self.id), action.pcm,
                headers={headers.SEQ: str(self.audio_seq), headers.SENT_NS: str(time.time_ns())},
            )
        elif isinstance(action, wire.Video):
            metrics.VIDEO_IN_BYTES.inc(len(action.data))
            await self.bus.video.publish(
                subjects.video_raw(self.id), action.data,
                headers={headers.MIME: action.mime, headers.SENT_NS: str(time.time_ns())},
            )
        else:
            await self.bus.main.publish(subjects.up_ctl(self.id),
                                        action.event.SerializeToString())

    # -- downlink ----------------------------------------------------------------------------

    async def _on_down(self, msg: Msg) -> None:
        try:
            if subjects.is_audio(msg.subject):
                mime = (msg.headers or {}).get(headers.MIME, "audio/pcm;rate=24000")
                metrics.AUDIO_OUT_BYTES.inc(len(msg.data))
                await self._send_text(
                    _AUDIO_HEAD + mime + _AUDIO_MID + b64.encode(msg.data) + _AUDIO_TAIL)
                return
            ev = bus_pb2.ServerEvent.FromString(msg.data)
            kind = ev.WhichOneof("event")
            if kind == "message_json":
                await self._send_text(ev.message_json.decode())
            elif kind == "close":
                self.close_code = ev.close.code or closecodes.NORMAL
                self.close_reason = ev.close.reason
                self.closed.set()
        except Exception as e:  # the client is gone; the uplink loop will notice and clean up
            log.debug("downlink send failed: %s", e)

    async def _send_text(self, text: str) -> None:
        async with self._send_lock:
            await self.ws.send_text(text)


def _reason_label(e: ProtocolError) -> str:
    return {
        closecodes.INVALID_ARGUMENT: "invalid_argument",
        closecodes.POLICY: "policy",
        closecodes.TOO_BIG: "too_big",
        closecodes.TRY_AGAIN: "no_capacity",
    }.get(e.code, "other")
