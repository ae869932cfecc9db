"""/livez, /readyz and /metrics for every service, as routes or as a small server of their own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ReadyCheck = Callable[[], tuple[bool, str]]


def routes(ready: ReadyCheck) -> list[Route]:
    async def livez(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        ok, why = ready()
        return JSONResponse({"ready": ok, "reason": why}, status_code=200 if ok else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/livez", livez),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
    ]


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server inside our own event loop: the service, not uvicorn, owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HealthServer:
    """Serves the health routes on host:port inside the running event loop."""

    def __init__(self, host: str, port: int, ready: ReadyCheck) -> None:
        app = Starlette(routes=routes(ready))
        config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False,
                                lifespan="off")
        self._server = EmbeddedServer(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        servers = self._server.servers
        if not servers:
            raise RuntimeError("health server not started")
        sock = servers[0].sockets[0]
        return int(sock.getsockname()[1])

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        logging.getLogger(__name__).info("health on http://%s:%d", self._server.config.host,
                                         self.port)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
