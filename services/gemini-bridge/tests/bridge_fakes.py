"""The one fake per seam for the bridge's unit tests: NATS, JetStream KV, the upstream socket.

The upstream session is the SDK's real AsyncSession over a FakeSocket, so what the SDK does with
a message (and refuses) is the SDK's own behaviour; only the bytes stop at the fake.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from google import genai
from google.genai.live import AsyncSession
from websockets.exceptions import ConnectionClosedError
from websockets.frames import Close

from livebus.sessions import SessionStore
from livebus.v1 import bus_pb2
from livebus_bridge.session import UpstreamSession
from livebus_bridge.settings import BridgeSettings
from livebus_bridge.tools import ToolCatalog


class FakeSocket:
    """The upstream websocket: records what is sent; `closed` makes sends fail as a drop does."""

    def __init__(self, on_send: Callable[[str], Awaitable[None]] | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed = False
        self.on_send = on_send
        self.incoming: asyncio.Queue[bytes] = asyncio.Queue()

    async def send(self, message: str | bytes) -> None:
        if self.on_send is not None:
            await self.on_send(str(message))
        if self.closed:
            raise ConnectionClosedError(Close(1011, "gone"), None)
        self.sent.append(json.loads(message))

    async def recv(self, decode: bool | None = None) -> bytes:
        return await self.incoming.get()

    async def close(self) -> None:
        self.closed = True

    def kinds(self) -> list[str]:
        out = []
        for m in self.sent:
            (key,) = m
            inner = m[key]
            out.append(f"{key}.{next(iter(inner))}" if key == "realtime_input" else key)
        return out


class FakeMsg:
    def __init__(self, data: bytes, headers: dict[str, str] | None = None) -> None:
        self.data = data
        self.headers = headers


class FakeNats:
    """NATS: publishes are recorded; requests answered by `responder` (default: no responders)."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []
        self.responder: Callable[[str, bytes], Awaitable[FakeMsg]] | None = None

    def jetstream(self) -> object:
        return object()

    async def publish(self, subject: str, payload: bytes = b"",
                      headers: dict[str, str] | None = None) -> None:
        self.published.append((subject, payload))

    async def request(self, subject: str, payload: bytes = b"", timeout: float = 1.0,
                      headers: dict[str, str] | None = None) -> FakeMsg:
        if self.responder is None:
            raise RuntimeError("no responders")
        return await self.responder(subject, payload)


class FakeKV:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    async def get(self, key: str) -> None:
        return None

    async def put(self, key: str, value: bytes) -> int:
        self.data[key] = value
        return 1


def upstream_session(**settings: Any) -> tuple[UpstreamSession, FakeNats, FakeNats]:
    nc, nc_video = FakeNats(), FakeNats()
    store = SessionStore(leases=FakeKV(), records=FakeKV())  # type: ignore[arg-type]
    s = UpstreamSession(bus_pb2.OpenSession(session_id="s1", model="models/m"),
                        genai.Client(api_key="k"), nc, nc_video,  # type: ignore[arg-type]
                        BridgeSettings(**settings), ToolCatalog(nc, []),  # type: ignore[arg-type]
                        store)
    return s, nc, nc_video


def attach(session: UpstreamSession, sock: FakeSocket) -> AsyncSession:
    """Make `sock` the session's current upstream connection."""
    live = AsyncSession(api_client=session.client._api_client, websocket=sock)  # type: ignore[arg-type]
    session.live = live
    session.live_ready.set()
    return live
