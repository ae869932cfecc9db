"""`python -m livebus_gateway`: TLS for SDK clients and plain HTTP on loopback for the page."""

from __future__ import annotations

import asyncio
import logging

import uvicorn

from livebus import logs, runtime
from livebus.health import EmbeddedServer

from .app import CollapseSlashes, create_app
from .settings import GatewaySettings

log = logging.getLogger("livebus_gateway")


async def main(stop: asyncio.Event) -> None:
    settings = GatewaySettings()
    for secret in [*settings.server_keys(), settings.signing_secret()]:
        logs.register_secret(secret)
    logs.setup("gateway", settings.log_level)
    app = CollapseSlashes(create_app(settings))
    ws_max = settings.max_message_bytes * 2
    # permessage-deflate on base64 audio and JPEG costs a quarter of the gateway's CPU for
    # almost no saving (py-spy at 100 sessions): off unless configured.
    deflate = settings.ws_compression
    servers: list[uvicorn.Server] = []
    if settings.cert_file and settings.key_file:
        servers.append(EmbeddedServer(uvicorn.Config(
            app, host=settings.host, port=settings.https_port, ssl_certfile=str(settings.cert_file),
            ssl_keyfile=str(settings.key_file), ws_max_size=ws_max, log_config=None,
            access_log=False, lifespan="on", ws_ping_interval=None,
            ws_per_message_deflate=deflate,
        )))
    if settings.http_port:
        servers.append(EmbeddedServer(uvicorn.Config(
            app, host=settings.host, port=settings.http_port, ws_max_size=ws_max,
            log_config=None, access_log=False, lifespan="on" if not servers else "off",
            ws_ping_interval=None, ws_per_message_deflate=deflate,
        )))
    tasks = [asyncio.create_task(s.serve()) for s in servers]
    log.info("gateway listening: https %s, http %s", settings.https_port, settings.http_port)
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    for s in servers:
        s.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)
    stopper.cancel()


if __name__ == "__main__":
    runtime.run(main)
