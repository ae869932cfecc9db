"""Who is alive, and which sampler owns which session.

Each sampler heartbeats its id into a JetStream KV bucket whose TTL is a couple of heartbeats,
so a crashed sampler vanishes from the bucket on its own. Every sampler reads the key list each
heartbeat, and a session belongs to the live member with the highest hash(member, session)
(rendezvous hashing): all samplers agree without talking, and when a member leaves only its own
sessions move.

The key list is the bucket stream's subjects, one server-side snapshot (STREAM.INFO with a
subject filter), not KeyValue.keys(): that makes a consumer per call, which the server keeps
for its 5-minute inactivity threshold (8 a second with two samplers at 0.25 s, until "maximum
consumers limit reached"), and about 1 call in 1000 it lists nothing, as its end-of-listing
check can see the consumer's info before the first message arrives. A member that wrongly saw
itself alone took every session for a beat and sent each a "first" frame at once, beside the
real owner's. A leaving member purges its subject, so no delete marker stays listed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable

from nats.aio.client import Client as NATS
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BadRequestError
from nats.js.kv import KeyValue

from livebus import subjects
from livebus.runtime import cancel_and_wait

from . import metrics

log = logging.getLogger(__name__)


def score(member: str, session_id: str) -> bytes:
    return hashlib.blake2b(f"{member}\x00{session_id}".encode(), digest_size=8).digest()


def owner(members: frozenset[str], session_id: str) -> str:
    return max(members, key=lambda m: score(m, session_id))


class Membership:
    def __init__(self, nc: NATS, bucket: str, me: str, ttl_s: float, heartbeat_s: float,
                 on_change: Callable[[frozenset[str]], None] | None = None) -> None:
        self.nc, self.bucket, self.me = nc, bucket, me
        self.ttl_s, self.heartbeat_s = ttl_s, heartbeat_s
        self.members: frozenset[str] = frozenset({me})
        self._owners: dict[str, bool] = {}
        self._on_change = on_change
        self._kv: KeyValue | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def owns(self, session_id: str) -> bool:
        mine = self._owners.get(session_id)
        if mine is None:
            if len(self._owners) > 100_000:  # sessions come and go; the cache must not grow
                self._owners.clear()
            mine = self._owners[session_id] = owner(self.members, session_id) == self.me
        return mine

    async def start(self) -> None:
        js = self.nc.jetstream()
        cfg = KeyValueConfig(bucket=self.bucket, ttl=self.ttl_s, history=1,
                             storage=StorageType.MEMORY)
        try:
            self._kv = await js.create_key_value(cfg)
        except BadRequestError:  # exists with another config (e.g. another TTL): use it as is
            self._kv = await js.key_value(self.bucket)
        await self._beat()
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Leave at once (delete our key) so the others take our sessions without the TTL."""
        self._stopping = True  # in case the cancellation is lost (see cancel_and_wait)
        await cancel_and_wait(self._task)
        if self._kv is not None:
            with contextlib.suppress(Exception):
                await self.nc.jetstream().purge_stream(
                    subjects.kv_stream(self.bucket), subject=subjects.kv_key(self.bucket, self.me))

    async def _loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.heartbeat_s)
            try:
                await self._beat()
            except Exception as e:  # NATS away: keep the last view, retry next beat
                log.warning("membership heartbeat failed: %s", e)

    async def _beat(self) -> None:
        assert self._kv is not None
        await self._kv.put(self.me, b"1")
        self._set(frozenset({*await self._listed(), self.me}))

    async def _listed(self) -> set[str]:
        """The members with a heartbeat in the bucket now (see the module's docstring)."""
        prefix = subjects.kv_key(self.bucket, "")
        info = await self.nc.jetstream().stream_info(
            subjects.kv_stream(self.bucket), subjects_filter=subjects.kv_key(self.bucket, ">"))
        return {s.removeprefix(prefix) for s in info.state.subjects or {}}

    def _set(self, members: frozenset[str]) -> None:
        metrics.MEMBERS.set(len(members))
        if members == self.members:
            return
        log.info("samplers now %s", sorted(members))
        self.members = members
        self._owners.clear()
        if self._on_change is not None:
            self._on_change(members)
