"""One conversation's upstream side: survives goAway and dropped connections.

The client's session lives as long as the client wants it. Upstream connections come and go
beneath it: on goAway the bridge switches at a turn boundary (or at the deadline), on a drop it
reconnects with jittered backoff; either way it resumes with the latest resumption handle, and when
there is no usable handle, or the resumed context collapsed, it opens a fresh upstream session
rebuilt from the shadow log. Uplink audio waits in a bounded buffer during a switch.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import time
from typing import Any

from google import genai
from google.genai import errors, types
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from websockets.exceptions import ConnectionClosed

from livebus import b64, closecodes, headers, subjects
from livebus.logs import session_id_var
from livebus.runtime import cancel_and_wait
from livebus.sessions import Lease, LeaseLost, SessionStore
from livebus.shadowlog import Entry
from livebus.v1 import bus_pb2

from . import metrics, timing, upstream
from .settings import BridgeSettings
from .shadow import ShadowRecorder
from .stills import Control, StillLane, StillLimits, control_of
from .tools import SessionTools, ToolCatalog, granted, with_declarations
from .uplink import Item, UplinkBuffer

log = logging.getLogger(__name__)

AUDIO_IN_MIME = "audio/pcm;rate=16000"
_AUDIO_FRAME = '{"realtime_input":{"audio":{"data":"%s","mime_type":"' + AUDIO_IN_MIME + '"}}}'
_VIDEO_FRAME = '{"realtime_input":{"video":{"data":"%s","mime_type":%s}}}'
PCM_BYTES_PER_SECOND = 32000
_TURN_END = bus_pb2.ClientEvent(activity_end=True)


def _close_of(e: BaseException) -> bus_pb2.Close:
    """The upstream's own close code and reason pass through as they are; anything else is
    livebus's, and says nothing about what failed inside (no exception text, host or port)."""
    if isinstance(e, errors.APIError):
        reason = e.details if isinstance(e.details, str) else (e.message or str(e.status))
        return bus_pb2.Close(code=int(e.code or closecodes.INTERNAL),
                             reason=closecodes.clamp_reason(str(reason or "")))
    if isinstance(e, ConnectionClosed) and e.rcvd is not None:
        return bus_pb2.Close(code=e.rcvd.code, reason=closecodes.clamp_reason(e.rcvd.reason))
    return bus_pb2.Close(code=closecodes.INTERNAL, reason="upstream unavailable")


def _seconds(duration: str | None) -> float:
    m = re.fullmatch(r"\s*([0-9.]+)s\s*", duration or "")
    return float(m.group(1)) if m else 0.0


def fast_audio(raw: bytes | str) -> list[tuple[str, bytes]] | None:
    """The audio of a message that is nothing but reply audio, else None."""
    try:
        msg = json.loads(raw)
        content = msg["serverContent"]
        turn = content["modelTurn"]
        if len(msg) != 1 or len(content) != 1 or not set(turn) <= {"parts", "role"}:
            return None
        chunks = []
        for part in turn["parts"]:
            blob = part["inlineData"]
            mime = blob.get("mimeType", "")
            if len(part) != 1 or not mime.startswith("audio/"):
                return None
            chunks.append((mime, b64.decode(blob["data"])))
        return chunks
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def split_audio(msg: types.LiveServerMessage) -> tuple[list[types.Blob], dict[str, Any] | None]:
    """Audio parts (sent raw) and the rest of the message as wire JSON (None when empty)."""
    audio: list[types.Blob] = []
    sc = msg.server_content
    if sc is not None and sc.model_turn is not None and sc.model_turn.parts:
        rest = []
        for part in sc.model_turn.parts:
            blob = part.inline_data
            if blob is not None and blob.data and (blob.mime_type or "").startswith("audio/"):
                audio.append(blob)
            else:
                rest.append(part)
        if audio:
            sc.model_turn = types.Content(role=sc.model_turn.role, parts=rest) if rest else None
    wire = msg.model_dump(mode="json", by_alias=True, exclude_none=True)
    if wire.get("serverContent") == {}:
        del wire["serverContent"]
    return audio, (wire or None)


class UpstreamSession:
    def __init__(self, req: bus_pb2.OpenSession, client: genai.Client, nc: NATS,
                 nc_video: NATS, settings: BridgeSettings, catalog: ToolCatalog,
                 store: SessionStore) -> None:
        self.req = req
        self.catalog = catalog
        self.store = store
        self.lease = Lease(store.leases, req.session_id, settings.instance_id or "bridge")
        self.lost = False                    # another bridge owns the session now
        self.ctl_sent = 0                    # seq of the last control event sent upstream
        self.migrate = asyncio.Event()       # draining: hand the session over at a turn boundary
        self.migrating = False
        self.tools = SessionTools(nc, [], req.user, req.session_id, self._tool_responses)
        self.timing = timing.SessionTiming()
        self.id = req.session_id
        self.client = client
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.nc_video = nc_video
        self.settings = settings
        self.config = types.LiveConnectConfig()
        self.client_wants_handles = False
        self.done = asyncio.Event()           # the client left
        self.last_uplink = time.monotonic()
        self.uplink = UplinkBuffer(int(settings.uplink_buffer_s * PCM_BYTES_PER_SECOND))
        self.live: Any = None                  # google.genai.live.AsyncSession
        self.live_ready = asyncio.Event()
        self._conn: contextlib.AsyncExitStack | None = None
        self._frame: tuple[bytes, str] | None = None
        self._frame_ready = asyncio.Event()
        self._subs: list[Subscription] = []
        # Conversation state that survives connections.
        self.handle: str | None = None
        self.in_turn = False
        self.handoff = asyncio.Event()
        self.goaway_deadline: float | None = None
        self._goaway_timer: asyncio.TimerHandle | None = None
        self.prompt_tokens = 0
        self.resumed_check = False
        self.context_lost = False
        self.shadow = ShadowRecorder(self.js, self.id)
        self.stills = StillLane(StillLimits(
            max_pending=settings.stills_max_pending, per_minute=settings.stills_per_minute,
            bytes_per_minute=settings.still_bytes_per_minute, timeout_s=settings.still_timeout_s),
            self._downsize, self._send_queued)
        self._bad_logged: set[str] = set()  # kinds of bad client message logged already

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self, reply: Msg) -> None:
        session_id_var.set(self.id)
        try:
            self.config = upstream.connect_config(self.req.setup_json)
        except upstream.SetupError as e:  # its message is the bridge's own, naming no internals
            await self._reply(reply, False, error=bus_pb2.Close(
                code=closecodes.INVALID_ARGUMENT, reason=closecodes.clamp_reason(str(e))))
            return
        specs = granted(await self.catalog.specs(), self.req)
        self.config = with_declarations(self.config, specs)
        if self.settings.default_compression and self.config.context_window_compression is None:
            self.config = self.config.model_copy(update={
                "context_window_compression": types.ContextWindowCompressionConfig(
                    trigger_tokens=self.settings.compression_trigger_tokens,
                    sliding_window=types.SlidingWindow(
                        target_tokens=self.settings.compression_target_tokens))})
        self.tools = SessionTools(self.nc, specs, self.req.user, self.id, self._tool_responses)
        # The bridge always asks for handles: they are how it survives goAway and drops.
        if self.config.session_resumption is not None:
            self.client_wants_handles = True
            self.handle = self.config.session_resumption.handle
        wait = self.settings.takeover_wait_s if self.req.takeover else 0.5
        if self.req.takeover:
            # The owner may be alive: a client resuming after its gateway died, or a gateway
            # that wrongly thought the bridge dead. The client decides; the owner lets go.
            await self.nc.publish(subjects.session_release(self.id), b"")
        try:
            acquired = await self.lease.acquire(wait)
        except Exception as e:  # NATS trouble: let the gateway try again (maybe elsewhere)
            log.warning("could not take the session lease (%s)", type(e).__name__)
            acquired = False
        if not acquired:
            await self._reply(reply, False, error=bus_pb2.Close(
                code=closecodes.TRY_AGAIN, reason="session is owned by another bridge"))
            return
        try:
            if self.req.takeover:
                await self._take_over()
            else:
                await self._open(self.handle)
        except Exception as e:
            await self.lease.release()
            close = _close_of(e)
            metrics.OPENS.labels("upstream_error").inc()
            log.warning("upstream refused the session: %s (%s)", close.code, type(e).__name__)
            await self._reply(reply, False, error=close)
            return
        close = bus_pb2.Close(code=closecodes.NORMAL, reason="session ended")
        helpers: list[asyncio.Task[Any]] = []
        try:
            self._subs = [
                await self.nc.subscribe(subjects.up_all(self.id), cb=self._on_uplink,
                                        pending_msgs_limit=65536),
                await self.nc_video.subscribe(subjects.video_sampled(self.id), cb=self._on_video),
                await self.nc.subscribe(subjects.session_release(self.id), cb=self._on_release),
            ]
            await self._reply(reply, True, complete={})
            metrics.OPENS.labels("ok").inc()
            log.info("upstream session open (model %s)", self.req.model)
            helpers = [asyncio.create_task(self._sender()),
                       asyncio.create_task(self._video_sender()),
                       asyncio.create_task(self.stills.run()),
                       asyncio.create_task(self.shadow.run()),
                       asyncio.create_task(self._keep_lease())]
            while True:
                outcome, why = await self._serve()
                if outcome == "closed":
                    break
                if outcome == "migrate":
                    await self._publish_event(bus_pb2.ServerEvent(migrate=True))
                    break
                if outcome == "idle":
                    close = bus_pb2.Close(code=closecodes.GOING_AWAY, reason="idle timeout")
                    break
                if not await self._switch(outcome, why):
                    close = why
                    break
        finally:
            self.tools.close()
            await self._close_live()
            if not self.lost:
                await self._save_record()
                await self.lease.release()
            for sub in self._subs:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()
            await self.shadow.flush()
            await cancel_and_wait(*helpers)
        metrics.UPSTREAM_CLOSES.labels(str(close.code)).inc()
        if self.lost or self.migrating:
            log.info("session handed over (%s)", "lease lost" if self.lost else "drained")
            return
        if not self.done.is_set():  # the upstream ended it for good: tell the client
            await self._publish_event(bus_pb2.ServerEvent(close=close))
        log.info("session closed: %s", close.code)

    async def _take_over(self) -> None:
        """Continue a session another bridge held: resume its handle, else rebuild."""
        rec = await self.store.record(self.id)
        self.handle = rec.get("handle") or self.handle
        self.prompt_tokens = int(rec.get("prompt_tokens") or 0)
        self.ctl_sent = int(rec.get("ctl_sent") or 0)
        metrics.RECONNECTS.labels("takeover").inc()
        if self.handle:
            try:
                await self._open(self.handle)
                self.resumed_check = self.prompt_tokens > 0
                log.info("took the session over, resumed")
                return
            except errors.APIError as e:
                if e.code != closecodes.INVALID_ARGUMENT:
                    raise
        metrics.REBUILDS.labels("takeover").inc()
        await self._open(None, await self.shadow.history())
        log.info("took the session over, rebuilt from the shadow log")

    async def _keep_lease(self) -> None:
        while True:
            await asyncio.sleep(self.settings.lease_ttl_s / 3)
            try:
                await self.lease.renew()
            except LeaseLost as e:
                log.warning("lost the session to %s", e)
                self.lost = True
                self.done.set()
                return
            except Exception as e:  # NATS away: retry; the lease outlives short outages
                log.debug("lease renewal failed: %s", e)

    async def _save_record(self) -> None:
        with contextlib.suppress(Exception):
            await self.store.save(self.id, handle=self.handle, prompt_tokens=self.prompt_tokens,
                                  ctl_sent=self.ctl_sent)

    def request_migration(self) -> None:
        """Drain: hand the session to another bridge at the next turn boundary."""
        self.migrating = True
        if not self.in_turn:
            self.migrate.set()

    async def _open(self, handle: str | None,
                    history: list[types.Content | types.ContentDict] | None = None) -> None:
        config = self.config.model_copy(update={
            "session_resumption": types.SessionResumptionConfig(handle=handle),
            "http_options": None})  # where to connect is the bridge's setting only
        stack = contextlib.AsyncExitStack()
        try:
            live = await stack.enter_async_context(
                self.client.aio.live.connect(model=self.req.model, config=config))
            if history:
                await live.send_client_content(turns=history, turn_complete=False)
        except BaseException:
            await stack.aclose()
            raise
        self._conn, self.live = stack, live
        self.in_turn = False
        if self._goaway_timer is not None:  # it belonged to the connection just replaced
            self._goaway_timer.cancel()
            self._goaway_timer = None
        self.handoff.clear()
        self.goaway_deadline = None
        self.live_ready.set()

    async def _close_live(self) -> None:
        self.live_ready.clear()
        conn, self._conn, self.live = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.aclose()

    async def _serve(self) -> tuple[str, bus_pb2.Close]:
        """Run one upstream connection until the client leaves, a handoff is due, or it drops."""
        down = asyncio.create_task(self._downlink(self.live))
        handoff = asyncio.create_task(self.handoff.wait())
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
            return ("context_lost" if self.context_lost else "goaway"), bus_pb2.Close()
        if idle in done:
            return "idle", bus_pb2.Close()
        exc = down.exception() if not down.cancelled() else None
        close = _close_of(exc) if exc else bus_pb2.Close(code=closecodes.INTERNAL,
                                                        reason="upstream ended")
        return "drop", close

    async def _switch(self, cause: str, why: bus_pb2.Close) -> bool:
        """Replace the upstream connection; False when the conversation cannot go on."""
        metrics.RECONNECTS.labels(cause).inc()
        log.info("switching upstream connection (%s %s)", cause, why.code)
        started = time.monotonic()
        if self.in_turn:
            # The reply was cut (a drop, or a goAway deadline mid-turn): end the turn for the
            # client, so it is not left waiting for a turnComplete that will never come.
            metrics.TURNS_CUT.labels(cause).inc()
            await self._publish_event(bus_pb2.ServerEvent(
                message_json=b'{"serverContent":{"turnComplete":true}}'))
        await self._close_live()  # the upstream rejects overlapping resumes: close first
        await self.shadow.flush()
        if why.code == closecodes.INVALID_ARGUMENT and self.handle:
            # A resumption handle the upstream no longer knows is useless: rebuild.
            self.handle = None
        rebuild = cause == "context_lost" or self.handle is None
        self.context_lost = False
        deadline = time.monotonic() + self.settings.reconnect_deadline_s
        delay = self.settings.reconnect_base_s
        while not self.done.is_set():
            try:
                if rebuild:
                    history = await self.shadow.history()
                    metrics.REBUILDS.labels(cause).inc()
                    await self._open(None, history)
                else:
                    await self._open(self.handle)
                    self.resumed_check = self.prompt_tokens > 0
                metrics.HANDOFF_SECONDS.observe(time.monotonic() - started)
                log.info("upstream connection replaced in %.0f ms (%s)",
                         (time.monotonic() - started) * 1000, "rebuilt" if rebuild else "resumed")
                return True
            except errors.APIError as e:
                if e.code == closecodes.INVALID_ARGUMENT and not rebuild:
                    log.info("resumption refused; rebuilding from the shadow log")
                    rebuild = True
                    continue
                if time.monotonic() > deadline:
                    return False
            except Exception as e:
                log.warning("reconnect failed (%s)", type(e).__name__)
                if time.monotonic() > deadline:
                    return False
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, self.settings.reconnect_max_s)
        return True

    async def _reply(self, reply: Msg, ok: bool, complete: dict[str, Any] | None = None,
                     error: bus_pb2.Close | None = None) -> None:
        msg = bus_pb2.OpenSessionReply(ok=ok, bridge_id=self.settings.instance_id,
                                       ctl_seq=self.ctl_sent)
        if complete is not None:
            msg.setup_complete_json = json.dumps(complete).encode()
        if error is not None:
            msg.error.CopyFrom(error)
        await reply.respond(msg.SerializeToString())

    async def _idle(self) -> None:
        while time.monotonic() - self.last_uplink < self.settings.idle_timeout_s:
            await asyncio.sleep(min(5.0, self.settings.idle_timeout_s))

    # -- uplink: audio and control in client order, through any connection switch -----------

    async def _on_uplink(self, msg: Msg) -> None:
        self.last_uplink = time.monotonic()
        if subjects.is_audio(msg.subject):
            self.timing.audio_in(msg)
            self.uplink.put(msg.data)
            return
        ev = bus_pb2.ClientEvent.FromString(msg.data)
        if ev.WhichOneof("event") == "close":
            self.done.set()
            return
        self.uplink.put(ev)

    async def _on_release(self, _: Msg) -> None:
        log.info("another bridge takes the session over; letting go")
        self.done.set()  # ends quietly: the record is saved and the lease released

    async def _sender(self) -> None:
        while True:
            await self.uplink.ready.wait()
            await self.live_ready.wait()
            item = self.uplink.peek()
            if item is None:
                continue
            live = self.live
            try:
                if isinstance(item, bytes):
                    await self._send_audio(live, item)
                else:
                    await self._route_control(live, item)
            except ConnectionClosed:
                self._connection_closed(live)
                continue  # keep the item: it goes to the next connection
            except Exception as e:
                self._bad_client_message(item, e)
            self.uplink.pop()

    def _connection_closed(self, live: Any) -> None:
        """A send failed on `live`: wait for the next connection, unless it is here already."""
        if live is self.live:
            self.live_ready.clear()

    def _bad_client_message(self, item: Item, e: Exception) -> None:
        """Dropped; logged once per session and kind, not per message."""
        kind = "audio" if isinstance(item, bytes) else str(item.WhichOneof("event"))
        metrics.BAD_CLIENT_MESSAGES.inc()
        if kind not in self._bad_logged:
            self._bad_logged.add(kind)
            log.warning("a client %s message was dropped (%s); later ones are not logged",
                        kind, type(e).__name__)

    async def _send_audio(self, live: Any, pcm: bytes) -> None:
        metrics.AUDIO_UP_BYTES.inc(len(pcm))
        # The SDK builds models per message (~58 us); this frame is the same bytes (~9 us).
        await live._ws.send(_AUDIO_FRAME % b64.encode(pcm))
        self.timing.sent(pcm)

    async def _route_control(self, live: Any, ev: bus_pb2.ClientEvent) -> None:
        """Inline, in order with audio; once a still must be downsized, through the still lane
        (in order with the other control events) so audio keeps flowing meanwhile."""
        item = control_of(ev)
        if item.stills or self.stills.busy:
            self.stills.put(item)
            return
        await self._send_control(live, item)
        self.timing.sent(ev)

    async def _send_queued(self, item: Control) -> None:
        """The still lane's sender: through connection switches, until it went upstream."""
        while True:
            await self.live_ready.wait()
            live = self.live
            try:
                await self._send_control(live, item)
                # Its JSON is not kept: a turn end is told by the parsed content.
                ended = item.content is not None and bool(item.content.turn_complete)
                self.timing.sent(_TURN_END if ended else item.event)
                return
            except ConnectionClosed:
                self._connection_closed(live)
                await asyncio.sleep(0)
            except Exception as e:
                self._bad_client_message(item.event, e)
                return

    async def _send_control(self, live: Any, item: Control) -> None:
        if item.seq and item.seq <= self.ctl_sent:
            return  # a predecessor sent it before it died
        await self._send_event(live, item)
        if item.seq:
            self.ctl_sent = item.seq
            await self._save_record()  # before the next one: a successor must know

    async def _send_event(self, live: Any, item: Control) -> None:
        ev = item.event
        kind = ev.WhichOneof("event")
        if item.content is not None:
            cc = item.content
            self.shadow.client_content(cc)
            await live.send_client_content(turns=cc.turns or [],
                                           turn_complete=bool(cc.turn_complete))
        elif kind == "text":
            self.shadow.add(Entry(role="user", kind="text", text=ev.text))
            await live.send_realtime_input(text=ev.text)
        elif kind == "tool_response_json":
            tr = types.LiveClientToolResponse.model_validate_json(ev.tool_response_json)
            for r in tr.function_responses or []:
                # seq 0: the bridge's own results, of server tools
                self.shadow.tool_result(r, server=ev.seq == 0)
            await live.send_tool_response(function_responses=tr.function_responses or [])
        elif kind == "activity_start":
            await live.send_realtime_input(activity_start=types.ActivityStart())
        elif kind == "activity_end":
            await live.send_realtime_input(activity_end=types.ActivityEnd())
        elif kind == "audio_stream_end":
            await live.send_realtime_input(audio_stream_end=True)

    async def _downsize(self, data: bytes, mime: str) -> tuple[bytes, str] | None:
        """An uploaded image at the video bound (512x512, ~30 KB), from a frame-sampler."""
        try:
            reply = await self.nc_video.request(subjects.SAMPLER_STILL, data,
                                                timeout=self.settings.still_timeout_s,
                                                headers={headers.MIME: mime,
                                                         headers.SESSION: self.id})
        except Exception as e:
            log.warning("uploaded image sent as it is (no sampler: %s)", type(e).__name__)
            return None
        error = (reply.headers or {}).get(headers.ERROR)
        if error:
            log.info("uploaded image refused by the sampler; sent as it is")
            return None
        return reply.data, "image/jpeg"

    async def _tool_responses(self, responses: list[dict[str, Any]]) -> None:
        """Server tools' results go upstream in order with the uplink, through any switch."""
        body = json.dumps({"functionResponses": responses}).encode()
        self.uplink.put(bus_pb2.ClientEvent(tool_response_json=body))

    # -- video: latest frame wins, never in the audio path ----------------------------------

    async def _on_video(self, msg: Msg) -> None:
        if self._frame is not None:
            metrics.FRAMES_REPLACED.inc()
        self.timing.video_in(msg)
        self._frame = (msg.data, (msg.headers or {}).get(headers.MIME, "image/jpeg"))
        self._frame_ready.set()

    async def _video_sender(self) -> None:
        while True:
            await self._frame_ready.wait()
            await self.live_ready.wait()
            self._frame_ready.clear()
            frame, self._frame = self._frame, None
            if frame is None:
                continue
            with contextlib.suppress(ConnectionClosed):  # video is opportunistic
                await self.live._ws.send(
                    _VIDEO_FRAME % (b64.encode(frame[0]), json.dumps(frame[1])))
                metrics.FRAMES_UP.inc()
                self.timing.video_sent(frame[0])

    # -- downlink ----------------------------------------------------------------------------

    async def _downlink(self, live: Any) -> None:
        # Reads the SDK session's socket itself: most messages are pure reply audio, and for
        # them building the SDK's models costs ~120 us against ~15 us here (docs/benchmarks.md).
        # Anything else is parsed into the SDK's LiveServerMessage as before.
        ws = live._ws
        while True:
            raw = await ws.recv(decode=False)
            if not raw:
                continue
            chunks = fast_audio(raw)
            if chunks is not None:
                self.in_turn = True
                for mime, pcm in chunks:
                    await self._publish_audio(mime, pcm)
                continue
            message = types.LiveServerMessage.model_validate_json(raw)
            self.timing.usage(message)
            if self._observe(message):
                continue
            audio, rest = split_audio(message)
            for blob in audio:
                await self._publish_audio(blob.mime_type or "", blob.data or b"")
            self.timing.after(message)
            if rest is not None:
                await self._publish_event(bus_pb2.ServerEvent(
                    message_json=json.dumps(rest, separators=(",", ":")).encode()))

    async def _publish_audio(self, mime: str, pcm: bytes) -> None:
        metrics.AUDIO_DOWN_BYTES.inc(len(pcm))
        await self.nc.publish(subjects.down_audio(self.id), pcm,
                              headers=self.timing.audio_headers(mime))

    def _observe(self, m: types.LiveServerMessage) -> bool:
        """Track turns, handles, goAway and tokens. True when the client must not see it."""
        if m.go_away is not None:
            left = _seconds(m.go_away.time_left)
            margin = min(self.settings.goaway_margin_s, left * 0.25)
            self.goaway_deadline = time.monotonic() + max(0.0, left - margin)
            log.info("goAway: %.1f s left; switching at the next turn boundary", left)
            self._goaway_timer = asyncio.get_running_loop().call_later(
                max(0.0, self.goaway_deadline - time.monotonic()), self.handoff.set)
            if not self.in_turn:
                self.handoff.set()
            return True
        if m.session_resumption_update is not None:
            u = m.session_resumption_update
            if u.resumable and u.new_handle:
                self.handle = u.new_handle
                asyncio.get_running_loop().create_task(self._save_record())
            return not self.client_wants_handles
        if m.tool_call is not None:
            self.in_turn = True
            for call in m.tool_call.function_calls or []:
                self.shadow.tool_call(call, server=self.tools.is_server(call.name))
            client_calls = self.tools.split(m.tool_call)
            if not client_calls:
                return True
            m.tool_call.function_calls = client_calls
        if m.tool_call_cancellation is not None:
            client_ids = self.tools.cancel(m.tool_call_cancellation.ids or [])
            if not client_ids:
                return True
            m.tool_call_cancellation.ids = client_ids
        if m.usage_metadata is not None and m.usage_metadata.prompt_token_count:
            now = m.usage_metadata.prompt_token_count
            if self.resumed_check and now < self.prompt_tokens * self.settings.context_loss_ratio:
                log.warning("context collapsed after resume (%d -> %d prompt tokens); rebuilding",
                            self.prompt_tokens, now)
                metrics.CONTEXT_LOSS.inc()
                self.context_lost = True
                self.handoff.set()
            self.resumed_check = False
            self.prompt_tokens = now
        sc = m.server_content
        if sc is not None:
            if sc.model_turn is not None:
                self.in_turn = True
                for part in sc.model_turn.parts or []:
                    if part.text and not part.thought:
                        self.shadow.said += part.text
            if sc.input_transcription and sc.input_transcription.text:
                self.shadow.heard += sc.input_transcription.text
            if sc.output_transcription and sc.output_transcription.text:
                self.shadow.said += sc.output_transcription.text
            if sc.turn_complete:
                self.in_turn = False
                self.shadow.end_turn()
                if self.goaway_deadline is not None:
                    self.handoff.set()
                if self.migrating:
                    self.migrate.set()
        return False

    async def _publish_event(self, ev: bus_pb2.ServerEvent) -> None:
        try:
            await self.nc.publish(subjects.down_event(self.id), ev.SerializeToString())
        except Exception as e:
            log.warning("could not publish to the gateway: %s", e)
