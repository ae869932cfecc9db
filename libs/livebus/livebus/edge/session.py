"""One client session at an edge: Gemini Live messages <-> the session's NATS subjects.

The client's connection is a Transport (transport.py): the WebSocket gateway and a WebRTC edge
each adapt theirs, and everything here is the same for both.

The uplink is charged against the session's and its credential's budgets (limits.py) before it
is published; moves to another bridge live in takeover.py; frame parsing and encoding in wire.py.
A session ends at the first of: the client leaving, the bridge closing it, a bad or too costly
message, another connection resuming it, its token's expireTime, or `max_session_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from typing import Any

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from livebus import audioframe, closecodes, headers, subjects
from livebus.logs import session_id_var
from livebus.v1 import bus_pb2

from . import limits, metrics, pending, resample, resumption, timing, wire
from .buses import EdgeBus
from .links import SessionLinks
from .settings import EdgeSettings
from .takeover import Takeover
from .tokens import Grant
from .transport import Transport
from .wire import ProtocolError

log = logging.getLogger(__name__)

RESUMED_ELSEWHERE = "session resumed on another connection"
TOKEN_EXPIRED = "token expired"
TOO_LONG = "maximum session duration reached"


class EdgeSession:
    def __init__(self, transport: Transport, bus: EdgeBus, settings: EdgeSettings,
                 grant: Grant, setup: dict[str, Any], secret: str,
                 resume: str | None = None, started_at: float | None = None) -> None:
        self.transport = transport
        self.bus = bus
        self.settings = settings
        self.metrics = metrics.of(settings.metrics_prefix)
        self.grant = grant
        self.setup = setup
        self.id = resume or uuid.uuid4().hex
        self.connection_id = uuid.uuid4().hex  # this connection, as other replicas see it
        self.resuming = resume is not None
        self.started_at = time.time() if started_at is None else started_at  # a resumed one's
        self.handle = resumption.mint(secret, self.id, grant.user, started_at=self.started_at,
                                      expires_at=grant.expires_at)
        self.closed = asyncio.Event()
        self.close_code = closecodes.NORMAL
        self.close_reason = ""
        self.superseded = False  # another connection resumed the session
        self.audio_seq = 0
        self.ctl_seq = 0
        self.timing = timing.SessionTiming(self.metrics)
        self._send_lock = asyncio.Lock()
        self.bridge_id = ""
        self.in_turn = False  # a reply is streaming to the client
        self.mover = Takeover(self, bus, settings, self.metrics)
        self.limits = limits.SessionLimits(limits.session_budget(settings),
                                           limits.credentials(settings), grant.user)
        self._noted: set[str] = set()
        self.resampler = resample.SessionResampler()  # input audio at other rates -> 16 kHz
        self.gate = pending.SetupGate()  # downlink waits until setupComplete is written
        self.links = SessionLinks(bus.main, self.id, self._on_event)
        self.bridge_closed = False  # the bridge ended the session (it needs no close)

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self) -> None:
        session_id_var.set(self.id)
        subs: list[Subscription] = []
        self.metrics.sessions.inc()
        try:
            subs.append(await self.bus.main.subscribe(
                subjects.session_attached(self.id), cb=self._on_attached))
            subs.append(await self.bus.main.subscribe(
                subjects.down_all(self.id), cb=self._on_down, pending_msgs_limit=65536,
                pending_bytes_limit=64 * 1024 * 1024))
            subs.append(await self.links.subscribe())
            self.links.start()
            await self._start()
            await self._serve()
        except ProtocolError as e:
            self.metrics.rejected_messages.labels(_reason_label(e)).inc()
            log.info("closing session: %s %s", e.code, e.reason)
            self.close_code, self.close_reason = e.code, e.reason
        except Exception:
            log.exception("session failed")
            self.close_code, self.close_reason = closecodes.INTERNAL, "internal error"
        finally:
            self.metrics.sessions.dec()
            self.limits.release()
            self.mover.cancel()
            told = not (self.superseded or self.bridge_closed or self.mover.holding)
            if not self.superseded:  # the session lives on with its new connection
                await self._tell_bridge_closed()
            await self._close_client()
            await self.links.stop(1.0 if told else 0.0)  # until the bridge has the close
            for sub in subs:
                with contextlib.suppress(Exception):  # a reconnecting connection drops it anyway
                    await sub.unsubscribe()

    async def _start(self) -> None:
        reply = await self._open(takeover=self.resuming)
        if not reply.ok:
            raise ProtocolError(reply.error.code or closecodes.INTERNAL, reply.error.reason)
        if self.resuming:
            self.metrics.resumptions.inc()
        self.bridge_id = reply.bridge_id
        self.ctl_seq = reply.ctl_seq  # a resumed session numbers on from its last one
        log.info("session open on bridge %s", reply.bridge_id)
        # Any other socket on this session closes; flushed so it has been told before the
        # client here can cause a reply.
        await self.bus.main.publish(subjects.session_attached(self.id),
                                    self.connection_id.encode())
        await self.bus.main.flush()
        complete = json.loads(reply.setup_complete_json or b"{}")
        complete["sessionId"] = self.id  # livebus's id: transcripts are read by it
        async with self._send_lock:  # then what the downlink sent meanwhile, in order
            await self.gate.open(json.dumps({"setupComplete": complete}), self.transport)

    async def _serve(self) -> None:
        reader = asyncio.create_task(self._uplink())
        closer = asyncio.create_task(self.closed.wait())
        others = [asyncio.create_task(self.mover.watch()), asyncio.create_task(self._expire())]
        try:
            done, _ = await asyncio.wait({reader, closer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (reader, closer, *others):
                t.cancel()
        if reader in done and reader.exception() is not None:
            raise reader.exception()  # type: ignore[misc]

    def ends_in(self, now: float) -> tuple[float, str]:
        """Seconds until this connection must end, and why: the token's expireTime bounds the
        session's messages (as with Google), and no connection outlives max_session_s."""
        left, why = self.started_at + self.settings.max_session_s - now, TOO_LONG
        if self.grant.expires_at is not None and self.grant.expires_at - now < left:
            left, why = self.grant.expires_at - now, TOKEN_EXPIRED
        return max(0.0, left), why

    async def _expire(self) -> None:
        left, why = self.ends_in(time.time())
        await asyncio.sleep(left)
        self.end(closecodes.SESSION_EXPIRED, why)

    def end(self, code: int, reason: str) -> None:
        if not self.closed.is_set():
            self.close_code, self.close_reason = code, reason
            log.info("closing session: %s %s", code, reason)
            self.closed.set()

    async def _on_attached(self, msg: Msg) -> None:
        if msg.data.decode(errors="replace") != self.connection_id and not self.superseded:
            self.superseded = True  # from now on nothing more reaches this client
            self.end(closecodes.RESUMED_ELSEWHERE, RESUMED_ELSEWHERE)

    async def reopen(self) -> bus_pb2.OpenSessionReply:
        return await self._open(takeover=True, down_seq=self.links.moving())

    def moved(self) -> None:
        self.links.moved()

    async def _open(self, takeover: bool = False, down_seq: int = 0) -> bus_pb2.OpenSessionReply:
        setup = dict(self.setup)
        model = setup.pop("model")
        req = bus_pb2.OpenSession(
            session_id=self.id,
            model=model,
            setup_json=json.dumps(setup).encode(),
            user=self.grant.user,
            allowed_tools=self.grant.tools or [],
            tools_granted=self.grant.tools is not None,
            turn_detection=self.grant.turn_detection,
            room=self.grant.room,
            gateway_id=self.settings.instance_id,
            takeover=takeover,
            down_seq=down_seq,
            epoch=self.links.epoch,
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
        self.ctl_seq += 1  # numbered like every control event: resent until acknowledged
        ev = bus_pb2.ClientEvent(close=bus_pb2.Close(code=self.close_code,
                                                     reason=self.close_reason or "client left"),
                                 seq=self.ctl_seq)
        data = ev.SerializeToString()
        self.links.sent(ev, data)
        try:
            await self.bus.main.publish(subjects.up_ctl(self.id), data)
        except Exception as e:
            log.warning("could not tell the bridge the session closed: %s", type(e).__name__)

    async def _close_client(self) -> None:
        with contextlib.suppress(Exception):
            await self.transport.close(self.close_code,
                                       closecodes.clamp_reason(self.close_reason))

    # -- uplink ------------------------------------------------------------------------------

    async def _uplink(self) -> None:
        max_bytes = self.settings.max_message_bytes
        receive = self.transport.receive
        while True:
            data = await receive()
            if data is None:
                self.close_reason = "client left"
                return
            if isinstance(data, wire.Audio | wire.Video):
                actions: list[wire.Action] = [wire.decoded_media(
                    data, self.settings.max_frame_bytes)]
                self.limits.charge_frame(len(data.pcm if isinstance(data, wire.Audio)
                                             else data.data))
            else:
                if len(data) > max_bytes:
                    raise ProtocolError(closecodes.TOO_BIG,
                                        f"message of {len(data)} bytes exceeds {max_bytes}")
                self.limits.charge_frame(len(data))
                actions = wire.parse_client_frame(data, self.settings.max_frame_bytes,
                                                  self.settings.max_chunks_per_message)
            self.limits.charge_actions(wire.chunk_count(actions), wire.publish_count(actions))
            for action in self.resampler.actions(actions):  # input audio at 16 kHz
                await self._submit(action)

    async def _submit(self, action: wire.Action) -> None:
        if isinstance(action, wire.Note):
            if action.reason not in self._noted:  # once per session, however often it comes
                self._noted.add(action.reason)
                log.warning("client sent %s (logged once per session)", action.reason)
            return
        self.timing.client_action(action)
        if isinstance(action, wire.Control):
            self.ctl_seq += 1
            action.event.seq = self.ctl_seq
        if self.mover.holding:
            self.mover.hold(action)
        else:
            await self.publish_now(action)

    async def publish_now(self, action: wire.Action) -> None:
        self.mover.sent(action)
        if isinstance(action, wire.Audio):
            self.audio_seq += 1
            self.metrics.audio_in_bytes.inc(len(action.pcm))
            await self.bus.main.publish(subjects.up_audio(self.id), audioframe.pack(
                action.pcm, self.audio_seq, voiced=self.timing.marks_voiced(action.pcm)))
        elif isinstance(action, wire.Video):
            self.metrics.video_in_bytes.inc(len(action.data))
            await self.bus.video.publish(
                subjects.video_raw(self.id), action.data,
                headers={headers.MIME: action.mime, headers.SENT_NS: str(time.time_ns())},
            )
        elif isinstance(action, wire.Control):
            data = action.event.SerializeToString()
            if len(data) > self.bus.main.max_payload - 4096:  # room for headers
                raise ProtocolError(closecodes.TOO_BIG,
                                    f"message of {len(data)} bytes is more than the bus carries")
            self.links.sent(action.event, data)  # kept first: a failed publish is resent
            await self.bus.main.publish(subjects.up_ctl(self.id), data)

    # -- downlink ----------------------------------------------------------------------------

    async def _on_down(self, msg: Msg) -> None:
        if self.superseded:
            return
        try:
            if subjects.is_audio(msg.subject):
                try:
                    frame = audioframe.unpack(msg.data)
                except audioframe.BadFrame:
                    log.debug("dropped a downlink audio chunk that is not a frame")
                    return
                self.links.audio_in(frame.seq)
                await self._down_audio(frame)
                return
            ev = bus_pb2.ServerEvent.FromString(msg.data)
            await self.links.event_in(ev)  # in order, once: to _on_event
        except Exception as e:  # the client is gone; the uplink loop will notice and clean up
            log.debug("downlink send failed: %s", type(e).__name__)

    async def _on_event(self, ev: bus_pb2.ServerEvent) -> None:
        if self.superseded:
            return
        try:
            kind = ev.WhichOneof("event")
            if kind == "message_json":
                out = wire.server_message(ev.message_json, self.handle)
                if out.reply_over:
                    self.timing.reply_over()
                if out.turn_complete:
                    self.in_turn = False
                if out.interrupted:
                    self.transport.interrupted()
                await self._send_text(out.text)
            elif kind == "migrate":
                self.mover.start("bridge_drain")
            elif kind == "close":
                self.bridge_closed = True
                self.end(ev.close.code or closecodes.NORMAL, ev.close.reason)
        except Exception as e:  # the client is gone; the uplink loop will notice and clean up
            log.debug("downlink send failed: %s", type(e).__name__)

    async def _down_audio(self, frame: audioframe.AudioFrame) -> None:
        received = time.time_ns()
        mime = frame.mime or wire.DEFAULT_AUDIO_OUT_MIME
        self.metrics.audio_out_bytes.inc(len(frame.pcm))
        self.in_turn = True
        if self.gate.is_open or not self.gate.hold((mime, frame.pcm)):
            async with self._send_lock:
                await self.transport.send_audio(mime, frame.pcm)
        self.timing.audio_sent(frame, received)

    def end_turn(self) -> None:
        """A reply in progress will never finish (its bridge is gone): end it for the client."""
        if self.in_turn:
            self.in_turn = False
            asyncio.get_running_loop().create_task(self._send_text(wire.TURN_COMPLETE))

    async def _send_text(self, text: str) -> None:
        if self.gate.hold(text):
            return
        async with self._send_lock:
            await self.transport.send_text(text)


def _reason_label(e: ProtocolError) -> str:
    if e.reason.startswith("rate limit exceeded"):
        return "rate_limit"
    return {
        closecodes.INVALID_ARGUMENT: "invalid_argument",
        closecodes.POLICY: "policy",
        closecodes.TOO_BIG: "too_big",
        closecodes.TRY_AGAIN: "no_capacity",
    }.get(e.code, "other")
