"""The upstream connection comes from the bridge's settings only, whatever a setup says."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import websockets
from google.genai import errors, types
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosedError
from websockets.frames import Close

from livebus import closecodes
from livebus_bridge.settings import BridgeSettings, UpstreamSettings
from livebus_bridge.upstream import (
    SetupError,
    close_of,
    connect_config,
    make_client,
    session_config,
)
from livebus_dev import devca

MODEL = "models/gemini-live-2.5-flash-preview"


def test_upstream_websocket_is_not_compressed_unless_asked(tmp_path: Path) -> None:
    # These are the keyword arguments the SDK hands to websockets' connect() for Live.
    ca = devca.ensure_dev_certs(tmp_path).ca
    up = UpstreamSettings(gemini_api_key="k", gemini_base_url="https://127.0.0.1:1",
                          gemini_ca_file=ca)
    ws_args = make_client(up)._api_client._websocket_ssl_ctx
    assert ws_args["compression"] is None
    assert ws_args["ssl"] is not None
    assert make_client(up, ws_compression=True)._api_client._websocket_ssl_ctx[
        "compression"] == "deflate"


class Listener:
    """A loopback TCP port that counts who connects (the attacker's host)."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0

    async def _on(self, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        self.connections += 1
        w.close()


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    lst = Listener()
    server = await asyncio.start_server(lst._on, "127.0.0.1", 0)
    lst.port = server.sockets[0].getsockname()[1]
    async with server:
        yield lst


SPELLINGS = ("httpOptions", "http_options", "HttpOptions")


def hostile_setup(port: int, field: str = "httpOptions") -> bytes:
    opts = {"baseUrl": f"https://127.0.0.1:{port}", "headers": {"x-evil": "1"},
            "apiVersion": "v1alpha"}
    return json.dumps({"systemInstruction": {"parts": [{"text": "be brief"}]},
                       field: opts}).encode()


@pytest.mark.parametrize("field", SPELLINGS)
def test_setup_http_options_are_left_out(listener: Listener, field: str) -> None:
    config = connect_config(hostile_setup(listener.port, field))
    assert config.http_options is None
    assert config.system_instruction is not None  # the rest of the setup is kept


def test_setup_errors_name_nothing_internal() -> None:
    for bad in (b"[1]", b"{not json", b'{"generationConfig": {"temperature": "hot"}}'):
        with pytest.raises(SetupError) as e:
            connect_config(bad)
        assert "temperature" not in str(e.value) and "pydantic" not in str(e.value)


@pytest.mark.parametrize("field", SPELLINGS[:2])
async def test_session_connects_to_the_configured_upstream_only(listener: Listener,
                                                                 tmp_path: Path,
                                                                 field: str) -> None:
    certs = devca.ensure_dev_certs(tmp_path)
    seen: list[dict[str, str]] = []

    async def upstream(ws: ServerConnection) -> None:
        assert ws.request is not None
        seen.append(dict(ws.request.headers))
        await ws.recv()
        await ws.send(json.dumps({"setupComplete": {}}))
        await ws.wait_closed()

    async with serve(upstream, "127.0.0.1", 0,
                     ssl=devca.server_context(certs.cert, certs.key)) as server:
        port = server.sockets[0].getsockname()[1]
        client = make_client(UpstreamSettings(gemini_api_key="the-key",
                                              gemini_base_url=f"https://127.0.0.1:{port}",
                                              gemini_ca_file=certs.ca))
        config = connect_config(hostile_setup(listener.port, field))
        async with client.aio.live.connect(model=MODEL, config=config):
            pass
    assert len(seen) == 1 and seen[0]["x-goog-api-key"] == "the-key"
    assert "x-evil" not in seen[0]
    assert listener.connections == 0


def test_upstream_close_codes_pass_through_livebus_reasons_reveal_nothing() -> None:
    api = errors.APIError(1008, {"error": {"message": "Quota exceeded", "status": "x"}})
    assert (close_of(api).code, close_of(api).reason) == (1008, "Quota exceeded")
    closed = ConnectionClosedError(Close(1011, "Internal error encountered."), None)
    assert (close_of(closed).code, close_of(closed).reason) == (1011,
                                                                  "Internal error encountered.")
    for e in (OSError("[Errno 111] Connect call failed ('10.1.2.3', 443)"),
              websockets.InvalidURI("wss://internal.example:9443/ws", "bad"),
              RuntimeError("/srv/livebus/secret.py line 3")):
        close = close_of(e)
        assert close.code == closecodes.INTERNAL
        assert close.reason == "upstream unavailable"


def test_video_goes_at_low_media_resolution_unless_the_client_chose_one() -> None:
    settings = BridgeSettings()
    assert session_config(b"{}", [], settings).media_resolution == \
        types.MediaResolution.MEDIA_RESOLUTION_LOW
    chosen = json.dumps({"generationConfig": {"mediaResolution": "MEDIA_RESOLUTION_HIGH"}})
    config = session_config(chosen.encode(), [], settings)
    assert config.media_resolution is None and config.generation_config is not None
    assert config.generation_config.media_resolution == types.MediaResolution.MEDIA_RESOLUTION_HIGH
    off = BridgeSettings(default_media_resolution="")
    assert session_config(b"{}", [], off).media_resolution is None
