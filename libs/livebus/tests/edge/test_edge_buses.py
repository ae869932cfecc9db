"""EdgeBus against a real nats-server: bridge heartbeats arrive on their own connection."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import nats

from livebus import subjects
from livebus.edge.buses import EdgeBus
from livebus_dev.testing.nats import running_nats


async def heard(bus: EdgeBus, bridge: str, after: float) -> bool:
    for _ in range(100):
        if bus.bridge_last_seen(bridge) > after:
            return True
        await asyncio.sleep(0.02)
    return False


async def test_heartbeats_do_not_travel_on_the_main_connection(tmp_path: Path) -> None:
    with running_nats(tmp_path) as url:
        bus = await EdgeBus.connect(url, "t")
        bridge = await nats.connect(url)
        try:
            assert bus.alive is not bus.main
            start = time.monotonic()
            await bridge.publish(subjects.bridge_alive("bridge.1"), b"")
            assert await heard(bus, "bridge.1", start)
            assert bus.bridge_silent_for("bridge.1") < 0.5
            await asyncio.sleep(0.3)
            assert bus.bridge_silent_for("bridge.1") >= 0.3

            await bus.main.close()  # the main connection gone: liveness is still heard
            again = time.monotonic()
            await bridge.publish(subjects.bridge_alive("bridge.1"), b"")
            assert await heard(bus, "bridge.1", again)
            assert bus.bridge_silent_for("bridge.1") == 0.0, "not judged while a link is down"
        finally:
            await bridge.close()
            for nc in (bus.video, bus.alive):
                await nc.close()
