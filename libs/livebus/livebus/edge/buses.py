"""An edge's NATS connections: audio and control, video, and bridge liveness.

Heartbeats have a connection of their own, so no session's traffic can queue ahead of them
(a flood on the main connection must not make a healthy bridge look dead)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import KeyValueConfig, StorageType
from nats.js.kv import KeyValue

from livebus import bus, subjects
from livebus.runtime import retry_setup

from .tokens import MAX_TTL


@dataclass
class EdgeBus:
    main: NATS   # audio, control, downlink: never behind a video frame
    video: NATS  # client frames, which may be large
    token_uses: KeyValue
    alive: NATS  # bridge heartbeats only
    # When each bridge was last heard from (monotonic), and when our own link last came back.
    bridges_seen: dict[str, float] = field(default_factory=dict)
    link_up_since: float = field(default_factory=time.monotonic)

    @classmethod
    async def connect(cls, url: str, instance: str, js_replicas: int = 1,
                      service: str = "gateway") -> EdgeBus:
        """`service` names the connections (`<service>-<instance>-main`, ...)."""
        holder: list[EdgeBus] = []

        def back() -> None:
            if holder:
                holder[0].link_up_since = time.monotonic()

        main = await bus.connect(url, f"{service}-{instance}-main", on_reconnect=back)
        video = await bus.connect(url, f"{service}-{instance}-video")
        alive_nc = await bus.connect(url, f"{service}-{instance}-alive", on_reconnect=back)
        js = main.jetstream(timeout=1.0)  # a lost answer (a node gone) is retried soon
        kvs: list[KeyValue] = []

        async def open_token_uses() -> None:
            # A 1 s answer can be late on a loaded machine or while a stream elects a leader:
            # the edge waits for JetStream (as the bridge does) instead of exiting.
            try:
                kvs.append(await js.key_value(subjects.KV_TOKEN_USES))
            except Exception:
                kvs.append(await js.create_key_value(KeyValueConfig(
                    bucket=subjects.KV_TOKEN_USES, history=1,
                    ttl=MAX_TTL.total_seconds() + 3600, storage=StorageType.FILE,
                    replicas=js_replicas,
                )))

        await retry_setup(open_token_uses, "JetStream")
        self = cls(main, video, kvs[0], alive_nc)
        holder.append(self)

        async def alive(msg: Msg) -> None:
            self.bridges_seen[msg.subject.rsplit(".", 1)[-1]] = time.monotonic()

        await alive_nc.subscribe(subjects.BRIDGE_ALIVE_ALL, cb=alive)
        return self

    def bridge_last_seen(self, bridge_id: str) -> float:
        return self.bridges_seen.get(subjects.token(bridge_id), 0.0)

    def bridge_silent_for(self, bridge_id: str) -> float:
        """How long a bridge has been silent, not counting time our own NATS links were down."""
        if not (self.main.is_connected and self.alive.is_connected):
            return 0.0
        seen = max(self.bridge_last_seen(bridge_id), self.link_up_since)
        return time.monotonic() - seen

    def connected(self) -> bool:
        return bool(self.main.is_connected and self.video.is_connected
                    and self.alive.is_connected)

    async def close(self) -> None:
        for nc in (self.main, self.video, self.alive):
            try:
                await nc.drain()
            except Exception:
                await nc.close()
