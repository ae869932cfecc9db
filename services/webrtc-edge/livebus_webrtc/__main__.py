"""`python -m livebus_webrtc`: WHIP over HTTPS for the clients, and an internal port for health
and metrics. On SIGTERM it stops taking offers (/readyz says draining) and ends its sessions:
each is moved on by its client reconnecting, as with the gateway."""

from __future__ import annotations

import asyncio
import logging

import uvicorn

from livebus import logs, runtime
from livebus.edge.state import EdgeState
from livebus.health import EmbeddedServer, HealthServer

from . import ice
from .session import Starter
from .settings import WebRTCSettings
from .whip import create_app

log = logging.getLogger("livebus_webrtc")


def policy(settings: WebRTCSettings) -> ice.IcePolicy:
    return ice.IcePolicy(tuple(settings.ice_addresses), settings.ice_announced_address,
                         settings.udp_port_min, settings.udp_port_max)


async def main(stop: asyncio.Event) -> None:
    settings = WebRTCSettings()
    for secret in [*settings.server_keys(), settings.signing_secret()]:
        logs.register_secret(secret)
    logs.setup("webrtc", settings.log_level)
    if settings.cert_file is None or settings.key_file is None:
        raise SystemExit("set LIVEBUS_WEBRTC_CERT_FILE and LIVEBUS_WEBRTC_KEY_FILE (WHIP is HTTPS)")
    ice.install(policy(settings))
    state: EdgeState[WebRTCSettings] = EdgeState.of(settings)
    await state.start("webrtc")
    draining = False

    def ready() -> tuple[bool, str]:
        return (False, "draining") if draining else state.ready()

    starter = Starter(state, settings.busy_retry_after_s)
    app, whip = create_app(settings, starter, ready)
    server = EmbeddedServer(uvicorn.Config(
        app, host=settings.host, port=settings.https_port, lifespan="off", log_config=None,
        access_log=False, server_header=False, ssl_certfile=str(settings.cert_file),
        ssl_keyfile=str(settings.key_file), http="h11",
        h11_max_incomplete_event_size=64 * 1024))
    health = HealthServer(settings.health_host, settings.health_port, ready) \
        if settings.health_port else None
    if health is not None:
        await health.start()
    serving = asyncio.create_task(server.serve())
    log.info("webrtc edge listening: https %s:%s, health %s", settings.host,
             settings.https_port, settings.health_port)
    try:
        await asyncio.wait([serving, asyncio.create_task(stop.wait())],
                           return_when=asyncio.FIRST_COMPLETED)
    finally:
        draining = True
        whip.closing = True
        for peer in list(whip.peers.values()):
            await peer.close()
        await runtime.cancel_and_wait(*starter.tasks)
        server.should_exit = True
        await asyncio.gather(serving, return_exceptions=True)
        if health is not None:
            await health.stop()
        await state.stop()


if __name__ == "__main__":
    runtime.run(main)
