"""The sampler: raw frames in, at most one waiting per session (latest wins), CPU work on a
thread pool, sampled JPEG out. Uploaded stills wait in a bounded queue for their own threads.

What costs is limited (docs/security.md): a frame whose decode would hold more than
max_decode_bytes is refused from its header; decodes share a replica-wide memory budget; each
session has a budget of decoded pixels per second (video frames over it are dropped, stills
answered "busy")."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from google.protobuf.message import DecodeError
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from livebus import bus, headers, latency, runtime, subjects
from livebus.runtime import cancel_and_wait, retry_setup
from livebus.v1 import bus_pb2

from . import image, memory, metrics, sampling
from .budget import DecodeMemory, PixelRate
from .members import Membership
from .policy import RateConfig, SessionState
from .probe import BadFrame, Header, Limits, probe
from .sessions import Frame, Outcome, Session
from .settings import SamplerSettings
from .stills import StillJob, StillQueue

BUSY = "busy"  # headers.ERROR of a still refused for load (the bridge sends the upload as it is)

log = logging.getLogger(__name__)


def _member_id(instance_id: str) -> str:
    """The instance id (unique, e.g. the pod name) as a KV key; without one, host + random."""
    base = instance_id or f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}"
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in base)


class Sampler:
    def __init__(self, settings: SamplerSettings) -> None:
        self.s = settings
        self.member_id = _member_id(settings.instance_id)
        self.rate = RateConfig(
            still_fps=settings.still_fps, quiet_fps=settings.quiet_fps,
            moving_fps=settings.moving_fps,
            motion_hold_s=settings.motion_hold_s, motion_fraction=settings.motion_fraction,
            duplicate_fraction=settings.duplicate_fraction, cut_fraction=settings.cut_fraction,
            cut_min_interval_s=settings.cut_min_interval_s, pixel_delta=settings.pixel_delta)
        self.output = sampling.Output(settings.max_side, settings.byte_budget, settings.quality,
                                      settings.min_quality, settings.pad)
        self.limits = Limits(settings.max_input_bytes, settings.max_pixels, settings.max_dimension)
        self.pool = ThreadPoolExecutor(settings.workers or runtime.cpus(),
                                       thread_name_prefix="sampler")
        self.still_pool = ThreadPoolExecutor(settings.still_concurrency,
                                             thread_name_prefix="sampler-still")
        self.memory = DecodeMemory(settings.decode_bytes_in_flight
                                   or 2 * settings.max_decode_bytes)
        self.stills = StillQueue(settings.still_session_pending, settings.still_queue)
        self.still_rates: dict[str, PixelRate] = {}
        self._still_workers: list[asyncio.Task[None]] = []
        self.sessions: dict[str, Session] = {}
        self.nc: NATS | None = None          # frames in and out
        self.nc_members: NATS | None = None  # heartbeats never wait behind frames
        # Uploaded stills on their own connection: a flood of them that falls more than the
        # server's max_pending (64 MiB by default) behind gets this connection cut as a slow
        # consumer, and that must not take the video streams' subscription with it.
        self.nc_stills: NATS | None = None
        self.members: Membership | None = None
        self._sub: Subscription | None = None
        self._still_sub: Subscription | None = None
        self._speech_sub: Subscription | None = None
        self._gc: asyncio.Task[None] | None = None
        self._quiet_until: dict[str, float] = {}  # log kind -> monotonic time it may log again

    def ready(self) -> tuple[bool, str]:
        if any(nc is None or not nc.is_connected for nc in (self.nc, self.nc_stills)):
            return False, "not connected to NATS"
        if self._gc is None:
            return False, "starting"  # not subscribed yet
        return True, "ok"

    async def start(self) -> None:
        memory.tune()
        name = f"sampler-{self.member_id}"
        self.nc_members = await bus.connect(self.s.nats_url, f"{name}-members")
        self.nc = await bus.connect(self.s.nats_url, f"{name}-video")
        self.nc_stills = await bus.connect(self.s.nats_url, f"{name}-stills")
        self.members = Membership(self.nc_members, self.s.members_bucket, self.member_id,
                                  self.s.member_ttl_s, self.s.heartbeat_s, self._members_changed)
        await retry_setup(self.members.start, "JetStream")
        # No queue group: every sampler sees every frame and keeps the sessions it owns, so a
        # session's frames always reach the one process that holds its motion state.
        self._sub = await self.nc.subscribe(subjects.VIDEO_RAW_ALL, cb=self._on_raw,
                                            pending_msgs_limit=4096,
                                            pending_bytes_limit=self.s.raw_pending_bytes)
        self._speech_sub = await self.nc.subscribe(subjects.SPEECH_ALL, cb=self._on_speech)
        # Uploaded stills: any sampler may downsize one (no per-session state involved).
        self._still_sub = await self.nc_stills.subscribe(
            subjects.SAMPLER_STILL, queue=subjects.SAMPLER_QUEUE, cb=self._on_still,
            pending_msgs_limit=4096, pending_bytes_limit=self.s.raw_pending_bytes)
        self._still_workers = [asyncio.create_task(self._still_worker())
                               for _ in range(self.s.still_concurrency)]
        self._gc = asyncio.create_task(self._collect())
        log.info("sampler %s started", self.member_id)

    async def stop(self) -> None:
        # Leave the member set first and keep serving until the others have seen it, so the
        # hand-over loses no frames.
        if self.members is not None:
            await self.members.stop()
            await asyncio.sleep(self.s.heartbeat_s * 1.5)
        for sub in (self._sub, self._still_sub, self._speech_sub):
            if sub is not None:
                await sub.unsubscribe()
        await cancel_and_wait(self._gc, *self._still_workers,
                              *(s.task for s in self.sessions.values()))
        self.sessions.clear()
        metrics.SESSIONS.set(0)
        for nc in (self.nc, self.nc_stills, self.nc_members):
            if nc is not None and not nc.is_closed:
                try:
                    await asyncio.wait_for(nc.drain(), 5)
                except Exception:  # NATS away or slow: close without waiting
                    await nc.close()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.still_pool.shutdown(wait=True, cancel_futures=True)

    # -- intake: on the event loop, cheap ----------------------------------------------------

    async def _on_raw(self, msg: Msg) -> None:
        sid = msg.subject.rsplit(".", 1)[-1]
        assert self.members is not None
        if not self.members.owns(sid):
            metrics.FOREIGN.inc()
            return
        metrics.RECEIVED.inc()
        hdrs = msg.headers or {}
        latency.observe_since(metrics.HOP_GATEWAY, hdrs, time.time_ns())
        frame = Frame(msg.data, hdrs.get(headers.STILL) == "1", time.monotonic(),
                      hdrs.get(headers.SENT_NS, ""))
        session = self.sessions.get(sid)
        if session is None:
            session = self.sessions[sid] = Session(
                sid, pixels=PixelRate(self.s.session_pixels_per_s, self.s.session_pixel_burst))
            session.task = asyncio.create_task(self._run(session))
            metrics.SESSIONS.set(len(self.sessions))
        session.last_seen = frame.received
        old = session.pending
        if old is not None and old.still and not frame.still:
            metrics.DROPPED.labels("stale").inc()  # a user's upload outranks a live frame
            return
        if old is not None:
            metrics.DROPPED.labels("stale").inc()
        session.pending = frame
        session.wake.set()

    async def _on_speech(self, msg: Msg) -> None:
        """Who speaks in a session this sampler holds (others, and unknown ones, are ignored:
        a session's first frame goes whatever the speech state says)."""
        session = self.sessions.get(msg.subject.rsplit(".", 1)[-1])
        if session is None:
            return
        try:
            speech = bus_pb2.Speech.FromString(msg.data)
        except DecodeError:
            return
        session.speaking = speech.user or speech.model
        session.speech_at = time.monotonic()

    def _quiet(self, session: Session) -> bool:
        fresh = time.monotonic() - session.speech_at <= self.s.speech_stale_s
        return fresh and not session.speaking

    # -- per session: one frame at a time on the pool ----------------------------------------

    async def _run(self, session: Session) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await session.wake.wait()
            session.wake.clear()
            frame, session.pending = session.pending, None
            if frame is None:
                continue
            started = time.perf_counter()
            try:
                head = probe(frame.data, self.limits)
                need = self._decode_bytes(head, frame.still)
            except BadFrame as e:
                self._bad_frame(session, e)
                continue
            assert session.pixels is not None
            if not session.pixels.allow():
                metrics.DROPPED.labels("pixel_budget").inc()
                continue
            session.state.quiet = self._quiet(session)
            try:
                async with self.memory.hold(need):
                    outcome = await loop.run_in_executor(self.pool, self._process, session.state,
                                                         frame, head)
            except Exception:
                if self._first("error", session.logged):
                    log.exception("frame processing failed (session %s)", session.id)
                outcome = Outcome("error")
            session.pixels.charge(outcome.pixels)
            elapsed = time.perf_counter() - started
            if outcome.output is None:
                metrics.DROPPED.labels(outcome.reason).inc()
                metrics.PROCESS_SECONDS.labels("dropped").observe(elapsed)
                continue
            metrics.PROCESS_SECONDS.labels("emitted").observe(elapsed)
            await self._emit(session.id, outcome, frame)

    def _decode_bytes(self, head: Header, still: bool) -> int:
        """The most one decode of this frame may hold; BadFrame past max_decode_bytes."""
        render = image.render_cost(head, self.s.max_side)
        need = render.bytes if still else max(render.bytes, image.thumbnail_cost(head).bytes)
        if need > self.s.max_decode_bytes:
            raise BadFrame("too_many_pixels", f"decoding needs {need} bytes")
        return need

    def _bad_frame(self, session: Session, e: BadFrame) -> None:
        metrics.DROPPED.labels(e.reason).inc()
        if self._first(e.reason, session.logged):  # a stream of bad frames is one line
            log.info("bad frame (session %s): %s", session.id, e)

    @staticmethod
    def _first(kind: str, logged: set[str]) -> bool:
        if kind in logged or len(logged) >= 16:
            return False
        logged.add(kind)
        return True

    def _now_and_then(self, kind: str) -> bool:
        """True at most once a minute per kind: for lines any message could repeat."""
        now = time.monotonic()
        if now < self._quiet_until.get(kind, 0.0):
            return False
        self._quiet_until[kind] = now + 60.0
        return True

    def _process(self, state: SessionState, frame: Frame, head: Header) -> Outcome:
        """On a worker thread. Only this session's task touches `state`, one frame at a time."""
        try:
            if frame.still:
                return Outcome("upload", sampling.still(frame.data, head, self.output),
                               image.render_cost(head, self.s.max_side).pixels)
            spent = sampling.Spent()
            reason, out = sampling.sample(state, frame.data, head, frame.received, self.rate,
                                          self.output, spent)
        except BadFrame as e:
            return Outcome(e.reason)
        return Outcome(reason, out, spent.pixels)

    async def _on_still(self, msg: Msg) -> None:
        """An uploaded image to downsize to the same bound as video; never rate-dropped, but
        refused from its header when too costly, and "busy" when its session or this replica
        has enough waiting. Answered at once unless queued."""
        metrics.RECEIVED.inc()
        session = (msg.headers or {}).get(headers.SESSION, "")[:128]
        try:
            head = probe(msg.data, self.limits)
            self._decode_bytes(head, still=True)
        except BadFrame as e:
            metrics.DROPPED.labels(e.reason).inc()
            await self._reply(msg, b"", {headers.ERROR: e.reason})
            return
        cost = image.render_cost(head, self.s.max_side)
        if session and not self._still_rate(session).take(cost.pixels):
            await self._busy(msg, "pixel_budget")
            return
        offer = self.stills.offer(StillJob(msg, session, head, cost, time.monotonic()))
        for job in offer.evicted:
            await self._busy(job.msg, "still_replaced")
        if not offer.accepted:
            await self._busy(msg, "still_queue_full")

    def _still_rate(self, session: str) -> PixelRate:
        rate = self.still_rates.get(session)
        if rate is None:
            rate = self.still_rates[session] = PixelRate(self.s.session_pixels_per_s,
                                                         self.s.session_pixel_burst)
        return rate

    async def _busy(self, msg: Msg, why: str) -> None:
        metrics.DROPPED.labels(why).inc()
        await self._reply(msg, b"", {headers.ERROR: BUSY})

    async def _still_worker(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            job = await self.stills.get()
            try:
                await self._still(loop, job)
            finally:
                self.stills.done(job)
            if not self.stills:
                await loop.run_in_executor(self.still_pool, memory.trim)

    async def _still(self, loop: asyncio.AbstractEventLoop, job: StillJob) -> None:
        if time.monotonic() - job.queued > self.s.still_max_wait_s:
            await self._busy(job.msg, "still_expired")  # the requester has given up by now
            return
        started = time.monotonic()
        try:
            async with self.memory.hold(job.cost.bytes):
                out = await loop.run_in_executor(self.still_pool, sampling.still, job.msg.data,
                                                 job.head, self.output)
        except BadFrame as e:
            metrics.DROPPED.labels(e.reason).inc()
            await self._reply(job.msg, b"", {headers.ERROR: e.reason})
            return
        except Exception:
            metrics.DROPPED.labels("error").inc()
            if self._now_and_then("still_error"):
                log.exception("still processing failed")
            await self._reply(job.msg, b"", {headers.ERROR: "error"})
            return
        metrics.PROCESS_SECONDS.labels("emitted").observe(time.monotonic() - started)
        metrics.EMITTED.labels("upload").inc()
        metrics.OUTPUT_BYTES.inc(len(out.jpeg))
        await self._reply(job.msg, out.jpeg, {headers.MIME: "image/jpeg"})

    async def _reply(self, msg: Msg, data: bytes, hdrs: dict[str, str]) -> None:
        assert self.nc_stills is not None
        if msg.reply:
            try:
                await self.nc_stills.publish(msg.reply, data, headers=hdrs)
            except Exception as e:  # NATS away or a bad reply subject: the requester times out
                if self._now_and_then("reply_failed"):
                    log.warning("still reply failed: %s", type(e).__name__)

    async def _emit(self, sid: str, outcome: Outcome, frame: Frame) -> None:
        assert self.nc is not None and outcome.output is not None
        out = outcome.output
        hdrs = {headers.MIME: "image/jpeg", headers.SENT_NS: str(time.time_ns())}
        if frame.origin_ns:
            hdrs[headers.ORIGIN_NS] = frame.origin_ns
        if frame.still:
            hdrs[headers.STILL] = "1"
        try:
            await self.nc.publish(subjects.video_sampled(sid), out.jpeg, headers=hdrs)
        except Exception as e:  # NATS away: this frame is lost, the next one will do
            metrics.DROPPED.labels("publish_failed").inc()
            if self._now_and_then("publish_failed"):
                log.warning("publish failed: %s", type(e).__name__)
            return
        metrics.EMITTED.labels(outcome.reason).inc()
        metrics.OUTPUT_BYTES.inc(len(out.jpeg))

    # -- housekeeping ------------------------------------------------------------------------

    def _members_changed(self, _: frozenset[str]) -> None:
        assert self.members is not None
        for sid in [sid for sid in self.sessions if not self.members.owns(sid)]:
            self._forget(sid)

    def _forget(self, sid: str) -> None:
        session = self.sessions.pop(sid, None)
        if session is not None and session.task is not None:
            session.task.cancel()
        metrics.SESSIONS.set(len(self.sessions))

    async def _collect(self) -> None:
        while True:
            await asyncio.sleep(min(5.0, self.s.session_idle_s))
            idle = time.monotonic() - self.s.session_idle_s
            for sid in [sid for sid, s in self.sessions.items() if s.last_seen < idle]:
                self._forget(sid)
            for key in [k for k, r in self.still_rates.items()
                        if r.full() and not self.stills.holding(k)]:
                del self.still_rates[key]
            await asyncio.get_running_loop().run_in_executor(self.still_pool, memory.trim)
