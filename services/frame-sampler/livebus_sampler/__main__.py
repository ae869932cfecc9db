"""`python -m livebus_sampler`."""

from __future__ import annotations

import asyncio

from livebus import logs, runtime
from livebus.health import HealthServer

from .service import Sampler
from .settings import SamplerSettings


async def main(stop: asyncio.Event) -> None:
    settings = SamplerSettings()
    logs.setup("frame-sampler", settings.log_level)
    sampler = Sampler(settings)
    health = HealthServer(settings.health_host, settings.health_port, sampler.ready)
    await health.start()
    await sampler.start()
    await stop.wait()
    await sampler.stop()
    await health.stop()


if __name__ == "__main__":
    runtime.run(main)
