"""`python -m livebus_emulator`: serve the Live API emulator until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import uvicorn

from livebus.logs import setup
from livebus.runtime import run
from livebus_emulator.app import create_app
from livebus_emulator.server import uvicorn_config
from livebus_emulator.settings import EmulatorSettings

_log = logging.getLogger("livebus_emulator")


async def serve(settings: EmulatorSettings, stop: asyncio.Event) -> None:
    server = uvicorn.Server(uvicorn_config(create_app(settings), settings))
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if not server.started:  # e.g. the port is taken: uvicorn has logged why
        with contextlib.suppress(BaseException):
            await task
        raise SystemExit(1)
    ca = settings.ca_file()
    _log.info("gemini-emulator on https://%s:%d%s", settings.host, settings.port,
              f" (clients trust {ca})" if ca else "")
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    stopping.cancel()
    await task


def main() -> None:
    settings = EmulatorSettings()
    setup("gemini-emulator", settings.log_level)
    run(lambda stop: serve(settings, stop))


if __name__ == "__main__":
    main()
