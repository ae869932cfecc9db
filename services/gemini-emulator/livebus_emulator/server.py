"""Run the emulator in-process: uvicorn on its own thread and event loop (tests, demos).

    with EmulatorServer(EmulatorSettings(port=0, pace=4.0, certs_dir=str(tmp))) as emu:
        emu.base_url        # https://127.0.0.1:PORT  (http_options base_url for google-genai)
        emu.client_ssl()    # an SSLContext trusting the dev CA
        emu.state           # the live EmulatorState (read-only please; use the control API)
"""

from __future__ import annotations

import ssl
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

from livebus.tls import client_context
from livebus_emulator.app import create_app
from livebus_emulator.settings import EmulatorSettings
from livebus_emulator.state import EmulatorState


class _WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol, minus a shutdown crash.

    uvicorn 0.54 answers server shutdown with send_close(1012) unless *the app* sent a close;
    when the *client* already started the closing handshake the connection is CLOSING and
    websockets raises InvalidState, which kills the server loop. Such a connection only needs
    its transport closed.
    """

    def shutdown(self) -> None:
        if self.handshake_complete and not self.close_sent and self.conn.state is not State.OPEN:
            self.stop_keepalive()
            self.transport.close()
            return
        super().shutdown()


def uvicorn_config(app: ASGIApp, settings: EmulatorSettings) -> uvicorn.Config:
    cert, key = settings.tls_files()
    return uvicorn.Config(
        app, host=settings.host, port=settings.port, ssl_certfile=str(cert),
        ssl_keyfile=str(key), log_config=None, access_log=False, lifespan="off",
        ws=_WebSocketProtocol, ws_max_size=16 * 1024 * 1024,
        # Long keepalive: Google answers pings late; do not be stricter than it is.
        ws_ping_interval=20.0, ws_ping_timeout=60.0, timeout_graceful_shutdown=3,
    )


class EmulatorServer:
    def __init__(self, settings: EmulatorSettings | None = None) -> None:
        self.settings = settings or EmulatorSettings(port=0)
        self.state = EmulatorState(self.settings)
        self.app = create_app(self.settings, self.state)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 15.0) -> EmulatorServer:
        self._server = uvicorn.Server(uvicorn_config(self.app, self.settings))
        self._thread = threading.Thread(target=self._server.run, name="gemini-emulator",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the emulator failed to start")
            if time.monotonic() > deadline:
                raise TimeoutError("the emulator did not start in time")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._server = None
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None or not self._server.servers:
            raise RuntimeError("the emulator is not running")
        return int(self._server.servers[0].sockets[0].getsockname()[1])

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ws_base_url(self) -> str:
        return f"wss://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path | None:
        return self.settings.ca_file()

    def client_ssl(self) -> ssl.SSLContext:
        return client_context(self.ca_file)

    def live_url(self, version: str = "v1beta", method: str = "BidiGenerateContent") -> str:
        return (f"{self.ws_base_url}/ws/google.ai.generativelanguage.{version}"
                f".GenerativeService.{method}")
