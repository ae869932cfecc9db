"""`python -m livebus_tools`."""

from __future__ import annotations

import asyncio

from livebus import logs, runtime
from livebus.health import HealthServer

from .loader import build_registry
from .service import ToolsService
from .settings import ToolsSettings


async def main(stop: asyncio.Event) -> None:
    settings = ToolsSettings()
    logs.setup("tools", settings.log_level)
    service = ToolsService(settings, build_registry(settings))
    health = HealthServer(settings.health_host, settings.health_port, service.ready)
    await health.start()
    await service.start()
    await stop.wait()
    await service.stop()
    await health.stop()


if __name__ == "__main__":
    runtime.run(main)
