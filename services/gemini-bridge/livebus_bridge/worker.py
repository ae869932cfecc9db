"""Claims sessions from the bridges' queue group, within capacity."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging

from google import genai
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from livebus import bus, closecodes, shadowlog, subjects
from livebus.runtime import cancel_and_wait, retry_setup
from livebus.sessions import SessionStore
from livebus.usage import UsageStore
from livebus.v1 import bus_pb2

from . import metrics
from .session import UpstreamSession
from .settings import BridgeSettings
from .tools import ToolCatalog

log = logging.getLogger(__name__)

class Bridge:
    def __init__(self, settings: BridgeSettings, client: genai.Client) -> None:
        self.settings = settings
        self.client = client
        self.sessions: dict[str, asyncio.Task[None]] = {}
        self.live: dict[str, UpstreamSession] = {}
        self._heartbeat: asyncio.Task[None] | None = None
        self.nc: NATS | None = None
        self.nc_video: NATS | None = None
        self.nc_alive: NATS | None = None  # heartbeats only: never behind any session's media
        self._intake: Subscription | None = None
        self.catalog: ToolCatalog
        self.store: SessionStore
        self.usage: UsageStore | None = None
        self.accepting = True
        metrics.CAPACITY.set(settings.capacity)

    async def start(self) -> None:
        name = self.settings.instance_id or "bridge"
        self.nc = await bus.connect(self.settings.nats_url, f"{name}-main")
        self.nc_video = await bus.connect(self.settings.nats_url, f"{name}-video")
        self.nc_alive = await bus.connect(self.settings.nats_url, f"{name}-alive")
        self.catalog = ToolCatalog(self.nc, self.settings.tools)
        await retry_setup(self._open_stores, "JetStream")
        self._heartbeat = asyncio.create_task(self._beat())
        await self._update_intake()

    async def _open_stores(self) -> None:
        assert self.nc is not None
        await shadowlog.ensure_stream(self.nc.jetstream(), self.settings.shadow_max_age_s,
                                      self.settings.js_replicas)
        # Short JetStream timeouts: an answer lost while a node goes is retried, not waited for.
        self.store = await SessionStore.open(self.nc.jetstream(timeout=1.0),
                                             self.settings.lease_ttl_s,
                                             self.settings.session_record_ttl_s,
                                             self.settings.js_replicas)
        self.usage = await UsageStore.open(self.nc.jetstream(timeout=1.0),
                                           self.settings.usage_retention_days * 86400,
                                           self.settings.js_replicas)

    async def _beat(self) -> None:
        """Gateways take this bridge's sessions elsewhere when it falls silent."""
        nc = self.nc_alive
        assert nc is not None
        subject = subjects.bridge_alive(self.settings.instance_id or "bridge")
        while True:
            if nc.is_connected:
                with contextlib.suppress(Exception):
                    await nc.publish(subject, b"")
            await asyncio.sleep(self.settings.heartbeat_interval_s)

    def ready(self) -> tuple[bool, str]:
        if not self.accepting:  # first: a drain ends by closing NATS
            return False, "draining"
        if self.nc is None or not self.nc.is_connected:
            return False, "not connected to NATS"
        return True, "ok"

    @property
    def full(self) -> bool:
        return len(self.sessions) >= self.settings.capacity

    async def _update_intake(self) -> None:
        """Listen for new sessions only while there is room (and not draining)."""
        assert self.nc is not None
        want = self.accepting and not self.full
        if want and self._intake is None:
            self._intake = await self.nc.subscribe(subjects.BRIDGE_OPEN,
                                                   queue=subjects.BRIDGE_QUEUE, cb=self._on_open)
        elif not want and self._intake is not None:
            sub, self._intake = self._intake, None
            await sub.unsubscribe()

    async def _on_open(self, msg: Msg) -> None:
        req = bus_pb2.OpenSession.FromString(msg.data)
        if not self.accepting or self.full:
            metrics.OPENS.labels("refused").inc()
            refusal = bus_pb2.OpenSessionReply(ok=False, bridge_id=self.settings.instance_id,
                                               error=bus_pb2.Close(code=closecodes.TRY_AGAIN,
                                                                   reason="bridge at capacity"))
            await msg.respond(refusal.SerializeToString())
            return
        assert self.nc is not None and self.nc_video is not None
        session = UpstreamSession(req, self.client, self.nc, self.nc_video, self.settings,
                                  self.catalog, self.store, self.usage)
        self.live[req.session_id] = session
        task = asyncio.create_task(session.run(msg))
        self.sessions[req.session_id] = task
        metrics.ACTIVE_SESSIONS.set(len(self.sessions))
        task.add_done_callback(functools.partial(self._ended, req.session_id, session))
        await self._update_intake()

    def _ended(self, sid: str, session: UpstreamSession, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("session %s failed", sid, exc_info=task.exception())
        # The session may be open here again already (a takeover, a resume): only this run's
        # entries go.
        if self.sessions.get(sid) is task:
            del self.sessions[sid]
        if self.live.get(sid) is session:
            del self.live[sid]
        metrics.ACTIVE_SESSIONS.set(len(self.sessions))
        if self.nc is not None and self.nc.is_connected:
            asyncio.get_running_loop().create_task(self._update_intake())

    async def stop(self) -> None:
        """Drain: no new sessions, not ready, live ones get until the deadline to end."""
        self.accepting = False
        if self.nc is not None and self._intake is not None:
            await self._update_intake()
        tasks = list(self.sessions.values())
        if tasks:
            log.info("draining: handing %d sessions to other bridges (at most %.0f s)",
                     len(tasks), self.settings.drain_deadline_s)
            for session in self.live.values():
                session.request_migration()
            await asyncio.wait(tasks, timeout=self.settings.drain_deadline_s)
            for session in self.live.values():  # past the deadline: move them mid-turn
                session.migrate.set()
            if self.sessions:
                await asyncio.wait(list(self.sessions.values()), timeout=2.0)
        await cancel_and_wait(*self.sessions.values(), self._heartbeat)
        for nc in (self.nc, self.nc_video, self.nc_alive):
            if nc is not None:
                await nc.close()
