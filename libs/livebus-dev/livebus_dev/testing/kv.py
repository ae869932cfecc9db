"""A JetStream KV bucket whose answers get lost: a write is stored, then times out."""

from __future__ import annotations

from nats.errors import TimeoutError as NatsTimeout
from nats.js.kv import KeyValue


class LostAnswers:
    """The bucket, except that the next `lose` writes are stored and then time out."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv
        self.lose = 0

    async def _lossy(self, rev: int) -> int:
        if self.lose:
            self.lose -= 1
            raise NatsTimeout
        return rev

    async def update(self, key: str, value: bytes, last: int | None = None) -> int:
        return await self._lossy(await self.kv.update(key, value, last=last))

    async def create(self, key: str, value: bytes) -> int:
        return await self._lossy(await self.kv.create(key, value))

    def __getattr__(self, name: str) -> object:
        return getattr(self.kv, name)
