"""`python -m livebus_bridge`."""

from __future__ import annotations

import asyncio

from livebus import logs, runtime
from livebus.health import HealthServer

from . import sdkws, upstream
from .settings import BridgeSettings, UpstreamSettings
from .worker import Bridge


async def main(stop: asyncio.Event) -> None:
    sdkws.check()  # an SDK upgrade that moved what the fast path uses fails here, loudly
    settings = BridgeSettings()
    up = UpstreamSettings()
    logs.register_secret(up.gemini_api_key)
    logs.setup("gemini-bridge", settings.log_level)
    bridge = Bridge(settings, upstream.make_client(up, settings.upstream_ws_compression))
    health = HealthServer(settings.health_host, settings.health_port, bridge.ready)
    await health.start()
    await bridge.start()
    await stop.wait()
    await bridge.stop()
    await health.stop()


if __name__ == "__main__":
    runtime.run(main)
