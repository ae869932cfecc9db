"""One conversation's upstream side: survives goAway and dropped connections.

The parts: `connection` (open, close, switch, the goAway plan), `uplink` (client order, the
sender, the still lane), `video` (latest frame wins), `downlink` (one handler per server message
field), `ownership` (the lease). This module wires them for one session and runs its life:
take the lease, open (or take over), serve connections until the client leaves, hand over, or
the upstream ends it for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from google import genai
from google.genai import errors, types
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from websockets.exceptions import ConnectionClosed

from livebus import audioframe, closecodes, subjects
from livebus.logs import session_id_var
from livebus.runtime import cancel_and_wait
from livebus.sessions import Lease, SessionStore
from livebus.usage import UsageStore
from livebus.v1 import bus_pb2

from . import activity, metrics, timing
from .connection import Connection, switch
from .downlink import Downlink
from .links import ReliablePublisher, UplinkReceiver
from .metering import SessionMeter
from .ownership import LeaseKeeper
from .quota import Quota, quota_limits
from .record import RecordKeeper
from .reports import ReportRelay
from .settings import BridgeSettings
from .shadow import ShadowRecorder
from .speech import SpeechState
from .state import Conversation
from .tools import SessionTools, ToolCatalog, granted
from .uplink import Uplink
from .upstream import SetupError, close_of, session_config
from .video import VideoSlot

log = logging.getLogger(__name__)

_TURN_CUT = b'{"serverContent":{"turnComplete":true}}'


class UpstreamSession:
    def __init__(self, req: bus_pb2.OpenSession, client: genai.Client, nc: NATS,
                 nc_video: NATS, settings: BridgeSettings, catalog: ToolCatalog,
                 store: SessionStore, usage_store: UsageStore | None = None) -> None:
        self.req = req
        self.id = req.session_id
        self.nc = nc
        self.nc_video = nc_video
        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.conv = Conversation()
        self.lost = False                    # another bridge owns the session now
        self.released = False                # another bridge asked for it
        self.migrate = asyncio.Event()       # draining: hand the session over at a turn boundary
        self.migrating = False
        self.done = asyncio.Event()          # the client left (or the session was taken)
        self.last_uplink = time.monotonic()
        self.lease = LeaseKeeper(Lease(store.leases, self.id, settings.instance_id or "bridge"),
                                 settings.lease_ttl_s, self._lease_lost)
        self.timing = timing.SessionTiming()
        self.meter = SessionMeter(usage_store, req.user, self.id, req.epoch, req.model,
                                  settings.usage_flush_interval_s, room=req.room)
        self.record = RecordKeeper(store, self.id, lambda: {
            "handle": self.conv.handle, "prompt_tokens": self.conv.prompt_tokens,
            "ctl_sent": self.conv.ctl_sent, "ctl_logged": self.conv.ctl_logged})
        self.shadow = ShadowRecorder(nc.jetstream(), self.id)
        self.shadow.on_logged = self._logged
        self.out = ReliablePublisher(nc, self.id, self.timing, req.down_seq, req.epoch)
        self.quota = Quota(quota_limits(settings), usage_store, self.meter, self.out.message,
                           self._end)
        self.up: UplinkReceiver | None = None  # once the last control seq sent is known
        self.conn = Connection(client, req.model, settings, self.conv)
        self.uplink = Uplink(self.conn, self.conv, self.shadow, self.timing, settings, nc_video,
                             self.record)
        self.video = VideoSlot(self.conn, self.timing)
        self.speech = SpeechState(nc_video, self.id, self._user_speaking,
                                  lambda: self.timing.clock.replying)
        self.uplink.on_speech = self.speech.wake.set
        self.reports = ReportRelay(self.out.message)  # the detector's, in the upstream's order
        self.tools: SessionTools      # built once the tools the session may use are known
        self.downlink: Downlink
        self._subs: list[Subscription] = []

    # -- life ----------------------------------------------------------------------------------

    async def run(self, reply: Msg) -> None:
        session_id_var.set(self.id)
        if not await self._prepare(reply) or not await self._acquire(reply):
            return
        try:
            await (self._take_over() if self.req.takeover else self.conn.open(self.conv.handle))
        except Exception as e:
            await self.lease.release()
            close = close_of(e)
            metrics.OPENS.labels("upstream_error").inc()
            log.warning("upstream refused the session: %s (%s)", close.code, type(e).__name__)
            await self._reply(reply, False, error=close)
            return
        try:
            close = await self._live(reply)
            metrics.UPSTREAM_CLOSES.labels(str(close.code)).inc()
            if self.lost or self.migrating:
                log.info("session handed over (%s)", "lease lost" if self.lost else "drained")
                return
            if not self.done.is_set():  # the upstream ended it for good: tell the client
                await self.out.event(bus_pb2.ServerEvent(close=close))
            log.info("session closed: %s", close.code)
        finally:  # until the gateway has every event (unless another bridge has the session)
            self.reports.close()
            await self.out.stop(0.0 if self.lost or self.released else 1.0)

    async def _prepare(self, reply: Msg) -> bool:
        """Config and tools, built once for every connection of the session."""
        specs = granted(await self.catalog.specs(), self.req)
        try:
            config = session_config(self.req.setup_json, specs, self.settings)
        except SetupError as e:  # its message is the bridge's own, naming no internals
            await self._reply(reply, False, error=bus_pb2.Close(
                code=closecodes.INVALID_ARGUMENT, reason=closecodes.clamp_reason(str(e))))
            return False
        self.conn.config, mode, gate = activity.plan(
            config, self.req.turn_detection or self.settings.turn_detection,
            activity.gate_config(self.settings))
        self.uplink.gate = activity.Gate(mode, gate)
        metrics.TURN_DETECTION.labels(mode.value).inc()
        self.tools = SessionTools(self.nc, specs, self.req.user, self.id,
                                  self.uplink.tool_responses)
        self.downlink = Downlink(self.conv, self.conn, self.tools, self.shadow, self.timing,
                                 self.out, self.settings, self._save_record, self._turn_ended)
        self.downlink.meter = self.meter
        self.downlink.on_reply_over = self.reports.reply_over
        refusal = None if self.req.takeover else await self.quota.admit()
        if refusal is not None:
            await self._reply(reply, False, error=refusal)
            return False
        # The bridge always asks for handles: they are how it survives goAway and drops.
        if self.conn.config.session_resumption is not None:
            self.conv.client_wants_handles = True
            self.conv.handle = self.conn.config.session_resumption.handle
        return True

    async def _acquire(self, reply: Msg) -> bool:
        wait = self.settings.takeover_wait_s if self.req.takeover else 0.5
        if self.req.takeover:
            # The owner may be alive: a client resuming after its gateway died, or a gateway
            # that wrongly thought the bridge dead. The client decides; the owner lets go.
            await self.nc.publish(subjects.session_release(self.id), b"")
        try:
            acquired = await self.lease.lease.acquire(wait)
        except Exception as e:  # NATS trouble: let the gateway try again (maybe elsewhere)
            log.warning("could not take the session lease (%s)", type(e).__name__)
            acquired = False
        if not acquired and not self.req.takeover and self.lease.lease.unavailable:
            # A new session id nobody else can own; its bucket is electing a leader (seconds
            # after a node died): serve now, the keeper writes the lease once it can.
            log.info("session lease not written yet (JetStream unavailable); serving anyway")
            acquired = True
        if not acquired:
            await self._reply(reply, False, error=bus_pb2.Close(
                code=closecodes.TRY_AGAIN, reason="session is owned by another bridge"))
        return acquired

    async def _live(self, reply: Msg) -> bus_pb2.Close:
        close = bus_pb2.Close(code=closecodes.NORMAL, reason="session ended")
        helpers: list[asyncio.Task[None]] = []
        self.up = self.receiver()
        try:
            await self.out.start()
            self.up.start()
            self._subs = [
                await self.nc.subscribe(subjects.up_all(self.id), cb=self._on_uplink,
                                        pending_msgs_limit=65536),
                await self.nc_video.subscribe(subjects.video_sampled(self.id),
                                              cb=self.video.on_frame),
                await self.nc.subscribe(subjects.session_release(self.id), cb=self._on_release),
            ]
            await self._reply(reply, True, complete={})
            metrics.OPENS.labels("ok").inc()
            log.info("upstream session open (model %s)", self.req.model)
            self.lease.start()
            helpers = [asyncio.create_task(self.uplink.run()),
                       asyncio.create_task(self.video.run()),
                       asyncio.create_task(self.shadow.run()),
                       asyncio.create_task(self.record.run()),
                       asyncio.create_task(self.speech.run()),
                       asyncio.create_task(self.meter.run()),
                       asyncio.create_task(self.quota.run())]
            close = await self._serve_connections(close)
        finally:
            await self._finish(helpers)
        return close

    def receiver(self) -> UplinkReceiver:
        return UplinkReceiver(self.nc, self.id, self.conv.ctl_sent, self._control,
                              self.req.epoch, logged=self.conv.ctl_logged)

    async def _serve_connections(self, close: bus_pb2.Close) -> bus_pb2.Close:
        while True:
            outcome, why = await self._serve()
            if outcome == "closed":
                return close
            if outcome == "migrate":
                await self.out.event(bus_pb2.ServerEvent(migrate=True))
                return close
            if outcome == "idle":
                return bus_pb2.Close(code=closecodes.GOING_AWAY, reason="idle timeout")
            if not await switch(self.conn, outcome, why, self.shadow, self.done, self._cut_turn):
                return why

    async def _finish(self, helpers: list[asyncio.Task[None]]) -> None:
        self.tools.close()
        await self.lease.stop()  # before anything else: no renewal after the release
        await self.conn.close()
        await self.meter.close()
        if not self.lost:
            await self.shadow.flush(0.5)  # so that the record says it is all logged
            await self._save_record(3.0)
            self.record.stopped = True
            await self.lease.release()
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        await self.shadow.flush(5.0, final=True)  # retried until stored, or 5 s
        await cancel_and_wait(*helpers)
        if self.up is not None:
            await self.up.stop()

    async def _serve(self) -> tuple[str, bus_pb2.Close]:
        """Run one upstream connection until the client leaves, a handoff is due, or it drops."""
        assert self.conn.current is not None
        down = asyncio.create_task(self.downlink.run(self.conn.current))
        handoff = asyncio.create_task(self.conn.handoff.wait())
        left = asyncio.create_task(self.done.wait())
        idle = asyncio.create_task(self._idle())
        migrate = asyncio.create_task(self.migrate.wait())
        tasks = {down, handoff, left, idle, migrate}
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await cancel_and_wait(*tasks - {down} if down.done() else tasks)
        if left in done:
            return "closed", bus_pb2.Close()
        if migrate in done:
            return "migrate", bus_pb2.Close()
        if handoff in done:
            return ("context_lost" if self.conv.context_lost else "goaway"), bus_pb2.Close()
        if idle in done:
            return "idle", bus_pb2.Close()
        exc = down.exception() if not down.cancelled() else None
        if exc is not None and not isinstance(exc, (ConnectionClosed, errors.APIError)):
            log.warning("upstream connection failed (%s)", type(exc).__name__)
        close = close_of(exc) if exc else bus_pb2.Close(code=closecodes.INTERNAL,
                                                       reason="upstream ended")
        return "drop", close

    async def _take_over(self) -> None:
        """Continue a session another bridge held: resume its handle, else rebuild."""
        rec = await self.store.record(self.id)
        conv = self.conv
        conv.handle = rec.get("handle") or conv.handle
        conv.prompt_tokens = int(rec.get("prompt_tokens") or 0)
        conv.ctl_sent = int(rec.get("ctl_sent") or 0)
        # (a record from before ctl_logged: its bridge logged before it sent)
        conv.ctl_logged = self.shadow.logged = int(rec.get("ctl_logged", conv.ctl_sent) or 0)
        metrics.RECONNECTS.labels("takeover").inc()
        if conv.handle:
            try:
                await self.conn.open(conv.handle)
                conv.resumed_check = conv.prompt_tokens > 0
                log.info("took the session over, resumed")
                return
            except errors.APIError as e:
                if e.code != closecodes.INVALID_ARGUMENT:
                    raise
        metrics.REBUILDS.labels("takeover").inc()
        await self.conn.open(None, await self.shadow.history())
        log.info("took the session over, rebuilt from the shadow log")

    # -- events --------------------------------------------------------------------------------

    async def _end(self, close: bus_pb2.Close) -> None:
        """End the session for good (a quota): the client gets `close`."""
        await self.out.event(bus_pb2.ServerEvent(close=close))
        self.done.set()

    def _logged(self, seq: int) -> None:
        """Control event `seq` (and every one before) is in the shadow log: the record says
        so (a successor logs those it sent after this, Uplink._send_control)."""
        if seq > self.conv.ctl_logged:
            self.conv.ctl_logged = seq
            self.record.request()

    def _lease_lost(self) -> None:
        self.lost = True
        self.record.stopped = True  # a retried save must not overwrite the new owner's
        self.done.set()

    def _user_speaking(self) -> bool:
        return self.uplink.gate is not None and self.uplink.gate.speaking

    def _turn_ended(self) -> None:
        if self.migrating:
            self.migrate.set()

    async def _cut_turn(self) -> None:
        await self.out.event(bus_pb2.ServerEvent(message_json=_TURN_CUT))

    def request_migration(self) -> None:
        """Drain: hand the session to another bridge at the next turn boundary."""
        self.migrating = True
        if not self.conv.in_turn:
            self.migrate.set()

    async def _on_uplink(self, msg: Msg) -> None:
        self.last_uplink = time.monotonic()
        assert self.up is not None
        if subjects.is_audio(msg.subject):
            try:
                frame = audioframe.unpack(msg.data)
            except audioframe.BadFrame:
                return
            self.timing.audio_in(frame)
            self.up.audio_in(frame.seq)
            self.uplink.put(frame.pcm)
            await self._report_activity()
            return
        await self.up.control_in(bus_pb2.ClientEvent.FromString(msg.data))

    async def _control(self, ev: bus_pb2.ClientEvent) -> None:
        """A client control event, once and in the gateway's order."""
        if ev.WhichOneof("event") == "close":
            self.done.set()
            if self.up is not None:
                await self.up.ack_now()  # the gateway waits for it
            return
        self.uplink.put(ev)
        await self._report_activity()

    async def _report_activity(self) -> None:
        """In local mode the client gets its voiceActivity from the bridge's detector, as it
        would from the upstream's, in order with every other event."""
        if reports := self.uplink.activity_reports():  # rarely: most chunks report nothing
            await self.reports.add(reports, self._interrupts)

    def _interrupts(self) -> bool:
        ric = self.conn.config.realtime_input_config if self.conn.config else None
        handling = ric.activity_handling if ric else None
        return self.conv.in_turn and handling != types.ActivityHandling.NO_INTERRUPTION

    async def _on_release(self, _: Msg) -> None:
        log.info("another bridge takes the session over; letting go")
        self.released = True
        self.done.set()  # ends quietly: the record is saved and the lease released

    async def _idle(self) -> None:
        while time.monotonic() - self.last_uplink < self.settings.idle_timeout_s:
            await asyncio.sleep(min(5.0, self.settings.idle_timeout_s))

    async def _save_record(self, within_s: float = 0.5) -> None:
        """Bounded: while a stream elects a leader (seconds) nothing must wait on it for long;
        the keeper goes on trying in the background. (The uplink asks the keeper itself.)"""
        await self.record.save(within_s)

    async def _reply(self, reply: Msg, ok: bool, complete: dict[str, Any] | None = None,
                     error: bus_pb2.Close | None = None) -> None:
        msg = bus_pb2.OpenSessionReply(ok=ok, bridge_id=self.settings.instance_id,
                                       ctl_seq=self.conv.ctl_sent)
        if complete is not None:
            msg.setup_complete_json = json.dumps(complete).encode()
        if error is not None:
            msg.error.CopyFrom(error)
        await reply.respond(msg.SerializeToString())
