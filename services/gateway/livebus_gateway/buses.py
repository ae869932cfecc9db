"""The gateway's NATS connections: one for audio and control, one for video."""

from __future__ import annotations

from dataclasses import dataclass

from nats.aio.client import Client as NATS
from nats.js.api import KeyValueConfig, StorageType
from nats.js.kv import KeyValue

from livebus import bus, subjects

from .tokens import MAX_TTL


@dataclass
class GatewayBus:
    main: NATS   # audio, control, downlink: never behind a video frame
    video: NATS  # client frames, which may be large
    token_uses: KeyValue

    @classmethod
    async def connect(cls, url: str, instance: str) -> GatewayBus:
        main = await bus.connect(url, f"gateway-{instance}-main")
        video = await bus.connect(url, f"gateway-{instance}-video")
        js = main.jetstream()
        try:
            kv = await js.key_value(subjects.KV_TOKEN_USES)
        except Exception:
            kv = await js.create_key_value(KeyValueConfig(
                bucket=subjects.KV_TOKEN_USES, history=1, ttl=MAX_TTL.total_seconds() + 3600,
                storage=StorageType.FILE,
            ))
        return cls(main, video, kv)

    def connected(self) -> bool:
        return bool(self.main.is_connected and self.video.is_connected)

    async def close(self) -> None:
        for nc in (self.main, self.video):
            try:
                await nc.drain()
            except Exception:
                await nc.close()
