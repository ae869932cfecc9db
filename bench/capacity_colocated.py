"""The ceiling of one design change: a session's gateway and bridge in one process.

Not livebus as it ships. The gateway and one bridge run on one event loop, and a message one of
them publishes to a subject the other subscribes to is handed over in memory (the subscriber's
own nats-py queue, so its callback runs as it would for a delivery from NATS) instead of
crossing NATS: uplink audio and control, downlink audio and events, their acks, the bridge
open request and its reply. Everything else (video to and from the frame-sampler, JetStream:
the shadow log, session records, leases, usage) still goes through NATS. A bridge's death is a
gateway's death here, so this measures what keeping a session's media in one process would
save, not a design that survives it (docs/benchmarks.md).

    python bench/capacity_colocated.py     # with both services' LIVEBUS_* settings in the env
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from livebus import bus, runtime


def _matches(pattern: tuple[str, ...], tokens: list[str]) -> bool:
    for i, p in enumerate(pattern):
        if p == ">":
            return len(tokens) > i
        if i >= len(tokens) or (p != "*" and p != tokens[i]):
            return False
    return len(pattern) == len(tokens)


class Registry:
    """Every subscription of this process's connections, by subject pattern."""

    def __init__(self) -> None:
        self.subs: dict[int, tuple[tuple[str, ...], str, Subscription]] = {}
        # subject -> (plain subscribers, each queue group's members), as publishes meet them
        self.cache: dict[str, tuple[list[Subscription], list[list[Subscription]]]] = {}

    def add(self, sub: Subscription, subject: str, queue: str) -> None:
        self.subs[id(sub)] = (tuple(subject.split(".")), queue, sub)
        self.cache.clear()

    def remove(self, sub: Subscription) -> None:
        if self.subs.pop(id(sub), None) is not None:
            self.cache.clear()

    def targets(self, subject: str) -> list[Subscription]:
        found = self.cache.get(subject)
        if found is None:
            tokens = subject.split(".")
            plain: list[Subscription] = []
            groups: dict[str, list[Subscription]] = {}
            for pattern, queue, sub in self.subs.values():
                if _matches(pattern, tokens):
                    (groups.setdefault(queue, []) if queue else plain).append(sub)
            if len(self.cache) > 10_000:  # request inboxes are one subject each
                self.cache.clear()
            found = self.cache[subject] = (plain, list(groups.values()))
        plain, members = found
        return plain + [random.choice(m) for m in members] if members else plain


REGISTRY = Registry()


class LocalFirst(bus.Client):
    """livebus's NATS client, delivering in memory to this process's own subscribers."""

    async def subscribe(self, subject: str, queue: str = "", cb: Any = None,
                        **kwargs: Any) -> Subscription:
        sub = await super().subscribe(subject, queue, cb, **kwargs)
        REGISTRY.add(sub, subject, queue)
        return sub

    def _remove_sub(self, sid: int, max_msgs: int = 0) -> None:
        sub = self._subs.get(sid)
        if sub is not None:
            REGISTRY.remove(sub)
        super()._remove_sub(sid, max_msgs)

    async def publish(self, subject: str, payload: bytes = b"", reply: str = "",
                      headers: dict[str, str] | None = None) -> None:
        targets = REGISTRY.targets(subject)
        if not targets:
            await super().publish(subject, payload, reply, headers)
            return
        for sub in targets:
            msg = Msg(_client=sub._conn, subject=subject, reply=reply, data=payload,
                      headers=headers or None)
            if sub._future is not None:
                if not sub._future.done():
                    sub._future.set_result(msg)
                continue
            sub._pending_size += len(payload)
            sub._pending_queue.put_nowait(msg)


async def main(stop: asyncio.Event) -> None:
    from livebus_bridge.__main__ import main as bridge
    from livebus_gateway.__main__ import main as gateway

    await asyncio.gather(bridge(stop), gateway(stop))


if __name__ == "__main__":
    bus.Client = LocalFirst  # type: ignore[misc]
    runtime.run(main)
