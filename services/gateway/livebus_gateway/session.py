"""One client connection: Gemini Live frames <-> the session's NATS subjects."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import deque
from typing import Any

from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from livebus import b64, closecodes, headers, subjects
from livebus.logs import session_id_var
from livebus.v1 import bus_pb2

from . import metrics, resumption, timing, wire
from .buses import GatewayBus
from .settings import GatewaySettings
from .tokens import Grant
from .wire import ProtocolError

log = logging.getLogger(__name__)

_AUDIO_HEAD = '{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"'
_AUDIO_MID = '","data":"'
_AUDIO_TAIL = '"}}]}}}'
TURN_COMPLETE = '{"serverContent":{"turnComplete":true}}'


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
                 grant: Grant, setup: dict[str, Any], secret: str,
                 resume: str | None = None) -> None:
        self.ws = ws
        self.bus = bus
        self.settings = settings
        self.grant = grant
        self.setup = setup
        self.id = resume or uuid.uuid4().hex
        self.resuming = resume is not None
        self.handle = resumption.mint(secret, self.id, grant.user)
        self.closed = asyncio.Event()
        self.close_code = closecodes.NORMAL
        self.close_reason = ""
        self.audio_seq = 0
        self.ctl_seq = 0
        self.timing = timing.SessionTiming()
        self._send_lock = asyncio.Lock()
        self.bridge_id = ""
        self.in_turn = False  # a reply is streaming to the client
        # While the session moves to another bridge, the uplink waits here (bounded).
        self.holding = False
        self.held: deque[wire.Action] = deque()
        self.held_audio = 0
        # What went to the bridge lately: replayed after the bridge's last sign of life when it
        # dies, since nobody was listening in between.
        self.recent: deque[tuple[float, wire.Action]] = deque()
        self._takeover_task: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self) -> None:
        session_id_var.set(self.id)
        sub = await self.bus.main.subscribe(subjects.down_all(self.id), cb=self._on_down,
                                            pending_msgs_limit=65536,
                                            pending_bytes_limit=64 * 1024 * 1024)
        metrics.SESSIONS.inc()
        try:
            reply = await self._open(takeover=self.resuming)
            if not reply.ok:
                raise ProtocolError(reply.error.code or closecodes.INTERNAL, reply.error.reason)
            self.bridge_id = reply.bridge_id
            self.ctl_seq = reply.ctl_seq  # a resumed session numbers on from its last one
            log.info("session open on bridge %s", reply.bridge_id)
            complete = json.loads(reply.setup_complete_json or b"{}")
            complete["sessionId"] = self.id  # livebus's id: transcripts are read by it
            await self._send_text(json.dumps({"setupComplete": complete}))
            reader = asyncio.create_task(self._uplink())
            closer = asyncio.create_task(self.closed.wait())
            watchdog = asyncio.create_task(self._watch_bridge())
            done, _ = await asyncio.wait({reader, closer}, return_when=asyncio.FIRST_COMPLETED)
            for t in (reader, closer, watchdog, self._takeover_task):
                if t is not None and t not in done:
                    t.cancel()
            if reader in done and reader.exception() is not None:
                raise reader.exception()  # type: ignore[misc]
        except ProtocolError as e:
            metrics.REJECTED_MESSAGES.labels(_reason_label(e)).inc()
            log.info("closing session: %s %s", e.code, e.reason)
            self.close_code, self.close_reason = e.code, e.reason
        except Exception:
            log.exception("session failed")
            self.close_code, self.close_reason = closecodes.INTERNAL, "internal error"
        finally:
            metrics.SESSIONS.dec()
            await self._tell_bridge_closed()
            with contextlib.suppress(Exception):  # a reconnecting connection drops it anyway
                await sub.unsubscribe()
            await self._close_ws()

    async def _watch_bridge(self) -> None:
        while True:
            await asyncio.sleep(self.settings.bridge_silence_s / 3)
            silent = self.bus.bridge_silent_for(self.bridge_id) if self.bridge_id else 0.0
            if not self.holding and silent > self.settings.bridge_silence_s:
                log.warning("bridge %s is silent; moving the session", self.bridge_id)
                self._start_takeover("bridge_lost")

    def _start_takeover(self, cause: str) -> None:
        if self.holding:
            return
        self.holding = True
        metrics.TAKEOVERS.labels(cause).inc()
        if cause == "bridge_lost":
            # Audio since the bridge was last heard from, and every recent control event: the
            # next bridge skips control events its predecessor had sent upstream (by seq).
            last_heard = self.bus.bridge_last_seen(self.bridge_id)
            self.held.extendleft(reversed([a for t, a in self.recent
                                           if t > last_heard or isinstance(a, wire.Control)]))
        self.recent.clear()
        if self.in_turn:  # the reply died with its bridge: end the turn for the client
            self.in_turn = False
            asyncio.get_running_loop().create_task(self._send_text(TURN_COMPLETE))
        self._takeover_task = asyncio.get_running_loop().create_task(self._takeover())

    async def _takeover(self) -> None:
        """Reopen the session on another bridge; the client's socket stays open meanwhile."""
        started = time.monotonic()
        deadline = started + self.settings.takeover_deadline_s
        while time.monotonic() < deadline:
            reply = await self._open(takeover=True)
            if reply.ok:
                self.bridge_id = reply.bridge_id
                self.ctl_seq = max(self.ctl_seq, reply.ctl_seq)
                while self.held:  # in order, before anything newer
                    await self._publish_now(self.held.popleft())
                self.held_audio = 0
                self.holding = False
                log.info("session moved to bridge %s in %.0f ms", reply.bridge_id,
                         (time.monotonic() - started) * 1000)
                return
            await asyncio.sleep(0.2)
        self.close_code, self.close_reason = closecodes.INTERNAL, "session could not be moved"
        self.closed.set()

    async def _open(self, takeover: bool = False) -> bus_pb2.OpenSessionReply:
        setup = dict(self.setup)
        model = setup.pop("model")
        req = bus_pb2.OpenSession(
            session_id=self.id,
            model=model,
            setup_json=json.dumps(setup).encode(),
            user=self.grant.user,
            allowed_tools=self.grant.tools or [],
            gateway_id=self.settings.instance_id,
            takeover=takeover,
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
        self.timing.client_action(action)
        if isinstance(action, wire.Control):
            self.ctl_seq += 1
            action.event.seq = self.ctl_seq
        if not self.holding:
            await self._publish_now(action)
            return
        if isinstance(action, wire.Video):
            return  # video is opportunistic: never held
        self.held.append(action)
        if isinstance(action, wire.Audio):
            self.held_audio += len(action.pcm)
            while self.held_audio > self.settings.hold_audio_bytes:
                dropped = next((a for a in self.held if isinstance(a, wire.Audio)), None)
                if dropped is None:
                    break
                self.held.remove(dropped)
                self.held_audio -= len(dropped.pcm)
                metrics.HELD_AUDIO_DROPPED.inc(len(dropped.pcm))

    async def _publish_now(self, action: wire.Action) -> None:
        if not isinstance(action, wire.Video):
            now = time.monotonic()
            self.recent.append((now, action))
            horizon = now - self.settings.bridge_silence_s - 1.0
            while self.recent and self.recent[0][0] < horizon:
                self.recent.popleft()
        if isinstance(action, wire.Audio):
            self.audio_seq += 1
            metrics.AUDIO_IN_BYTES.inc(len(action.pcm))
            await self.bus.main.publish(
                subjects.up_audio(self.id), action.pcm,
                headers=self.timing.audio_headers(self.audio_seq, action.pcm),
            )
        elif isinstance(action, wire.Video):
            metrics.VIDEO_IN_BYTES.inc(len(action.data))
            await self.bus.video.publish(
                subjects.video_raw(self.id), action.data,
                headers={headers.MIME: action.mime, headers.SENT_NS: str(time.time_ns())},
            )
        else:
            data = action.event.SerializeToString()
            if len(data) > self.bus.main.max_payload - 4096:  # room for headers
                raise ProtocolError(closecodes.TOO_BIG,
                                    f"message of {len(data)} bytes is more than the bus carries")
            await self.bus.main.publish(subjects.up_ctl(self.id), data)

    # -- downlink ----------------------------------------------------------------------------

    async def _on_down(self, msg: Msg) -> None:
        try:
            if subjects.is_audio(msg.subject):
                received = time.time_ns()
                mime = (msg.headers or {}).get(headers.MIME, "audio/pcm;rate=24000")
                metrics.AUDIO_OUT_BYTES.inc(len(msg.data))
                self.in_turn = True
                await self._send_text(
                    _AUDIO_HEAD + mime + _AUDIO_MID + b64.encode(msg.data) + _AUDIO_TAIL)
                self.timing.audio_sent(msg.headers, received)
                return
            ev = bus_pb2.ServerEvent.FromString(msg.data)
            kind = ev.WhichOneof("event")
            if kind == "message_json":
                self.timing.event(ev.message_json)
                if b'"turnComplete":true' in ev.message_json:
                    self.in_turn = False
                if b'"newHandle"' in ev.message_json:  # clients get livebus's handle
                    update = json.loads(ev.message_json)
                    update["sessionResumptionUpdate"]["newHandle"] = self.handle
                    await self._send_text(json.dumps(update))
                    return
                await self._send_text(ev.message_json.decode())
            elif kind == "migrate":
                self._start_takeover("bridge_drain")
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
