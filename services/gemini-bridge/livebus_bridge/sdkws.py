"""The only code that reaches into google-genai's internals: a live session's websocket.

Most upstream traffic is audio. The SDK builds pydantic models for every message (~58 us to send
a chunk, ~120 us to receive one, docs/benchmarks.md); the same frames written and read on its
socket directly cost ~9 and ~15 us. Everything else goes through the SDK's public methods.
What this relies on (`AsyncSession._ws`, a websockets connection with `recv(decode=)`) is
checked once at start-up, so an SDK upgrade that moves it fails loudly instead of per message.
"""

from __future__ import annotations

import inspect
import json

from google.genai import _common, types
from google.genai import _live_converters as converters
from google.genai.live import AsyncSession
from websockets.asyncio.client import ClientConnection


class SdkChanged(RuntimeError):
    """The installed google-genai no longer has what the bridge's fast path relies on."""


def check() -> None:
    """Raise SdkChanged unless AsyncSession keeps its websocket as `_ws`."""
    params = inspect.signature(AsyncSession.__init__).parameters
    if "websocket" not in params or "api_client" not in params:
        raise SdkChanged("google.genai.live.AsyncSession(api_client, websocket) changed")
    marker = object()
    probe = AsyncSession(api_client=None, websocket=marker)  # type: ignore[arg-type]
    if getattr(probe, "_ws", None) is not marker:
        raise SdkChanged("google.genai.live.AsyncSession no longer keeps its socket as _ws")
    if not callable(getattr(converters, "_LiveServerMessage_from_mldev", None)) or \
            not callable(getattr(_common, "_remove_extra_fields", None)):
        raise SdkChanged("google.genai's server message converter moved")
    if "decode" not in inspect.signature(ClientConnection.recv).parameters:
        raise SdkChanged("websockets ClientConnection.recv(decode=) changed")


class Upstream:
    """One upstream connection: the SDK session for control messages (its typed send_*
    methods), its socket for media frames in and out."""

    def __init__(self, session: AsyncSession, seeding: bool = False) -> None:
        self.session = session
        self._ws: ClientConnection = session._ws
        # A fresh connection before any realtime input: client content is initial history.
        self.seeding = seeding

    async def send_frame(self, frame: str) -> None:
        """One realtime input message (audio or video), already wire JSON."""
        self.seeding = False
        await self._ws.send(frame)

    async def recv(self) -> bytes:
        """The next server message as bytes (raises ConnectionClosed when it ends)."""
        raw = await self._ws.recv(decode=False)
        return raw if isinstance(raw, bytes) else raw.encode()


def read_server_message(raw: bytes | str) -> types.LiveServerMessage:
    """A server message as the SDK's own receive() reads it: its converter (e.g.
    `voiceActivity.type` -> `voice_activity_type`), fields it does not know yet skipped.
    Raises ValueError (not JSON, not an object, or a value the SDK's types refuse)."""
    wire = json.loads(raw)
    if not isinstance(wire, dict):
        raise ValueError("not a JSON object")
    converted = converters._LiveServerMessage_from_mldev(wire)
    _common._remove_extra_fields(types.LiveServerMessage, converted)
    return types.LiveServerMessage.model_validate(converted)
