"""`python -m livebus_gateway`: TLS for SDK clients, plain HTTP on loopback for the page, and an
internal port for health and metrics."""

from __future__ import annotations

import asyncio
import logging

import uvicorn

from livebus import logs, runtime

from . import httpserver
from .app import CollapseSlashes, GatewayState, create_app
from .pageheaders import SecurityHeaders, csp
from .settings import GatewaySettings

log = logging.getLogger("livebus_gateway")


async def main(stop: asyncio.Event) -> None:
    settings = GatewaySettings()
    for secret in [*settings.server_keys(), settings.signing_secret()]:
        logs.register_secret(secret)
    logs.setup("gateway", settings.log_level)
    state = GatewayState.of(settings)
    app = SecurityHeaders(CollapseSlashes(create_app(settings, state)),
                          csp(settings.whip_origin()))
    servers: list[uvicorn.Server] = httpserver.public_servers(app, settings)
    internal = httpserver.metrics_server(settings, state.ready)
    if internal is not None:
        servers.append(internal)
    tasks = [asyncio.create_task(s.serve()) for s in servers]
    log.info("gateway listening: https %s, http %s, metrics %s", settings.https_port,
             settings.http_port, settings.health_port)
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    for s in servers:
        s.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)
    stopper.cancel()


if __name__ == "__main__":
    runtime.run(main)
