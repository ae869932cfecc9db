"""The one fake per seam for the bridge's unit tests: NATS, JetStream (the shadow log's stream
and KV), the upstream socket.

The upstream session is the SDK's real AsyncSession over a FakeSocket, so what the SDK does with
a message (and refuses) is the SDK's own behaviour; only the bytes stop at the fake.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import nats.errors
from google import genai
from google.genai.live import AsyncSession
from websockets.exceptions import ConnectionClosedError
from websockets.frames import Close

from livebus import subjects
from livebus.sessions import SessionStore
from livebus.shadowlog import MSG_ID, Entry
from livebus.toolcalls import ToolSpec
from livebus.v1 import bus_pb2
from livebus_bridge.sdkws import Upstream
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


class FakeJetStream:
    """JetStream's publish into a stream: stored in order, once per Nats-Msg-Id. While `down`
    (a stream electing a leader) every publish times out; with `unanswered` it is stored and
    times out all the same (the answer was lost)."""

    def __init__(self) -> None:
        self.stored: list[tuple[str, bytes]] = []
        self.ids: set[str] = set()
        self.down = False
        self.unanswered = False
        self.failed = 0

    async def publish(self, subject: str, payload: bytes = b"", timeout: float | None = None,
                      stream: str | None = None, headers: dict[str, str] | None = None) -> None:
        if self.down:
            self.failed += 1
            raise nats.errors.TimeoutError
        msg_id = (headers or {}).get(MSG_ID, "")
        if not msg_id or msg_id not in self.ids:
            self.ids.add(msg_id)
            self.stored.append((subject, payload))
        if self.unanswered:
            self.failed += 1
            raise nats.errors.TimeoutError

    def entries(self, session_id: str) -> list[Entry]:
        return [Entry.model_validate_json(data) for subject, data in self.stored
                if subject == subjects.shadow(session_id)]


class FakeNats:
    """NATS: publishes are recorded; the tools list is `tools`; other requests are answered by
    `responder` (default: no responders); `js` is its JetStream."""

    def __init__(self, js: FakeJetStream | None = None) -> None:
        self.published: list[tuple[str, bytes]] = []
        self.responder: Callable[[str, bytes], Awaitable[FakeMsg]] | None = None
        self.tools: list[ToolSpec] = []
        self.js = js or FakeJetStream()

    def jetstream(self) -> FakeJetStream:
        return self.js

    async def publish(self, subject: str, payload: bytes = b"",
                      headers: dict[str, str] | None = None) -> None:
        self.published.append((subject, payload))

    async def request(self, subject: str, payload: bytes = b"", timeout: float = 1.0,
                      headers: dict[str, str] | None = None) -> FakeMsg:
        if subject == subjects.TOOLS_LIST:
            return FakeMsg(json.dumps({"tools": self.tools}).encode())
        if self.responder is None:
            raise RuntimeError("no responders")
        return await self.responder(subject, payload)


class FakeEntry:
    def __init__(self, value: bytes) -> None:
        self.value = value
        self.revision = 1


class FakeKV:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    async def get(self, key: str) -> FakeEntry | None:
        return FakeEntry(self.data[key]) if key in self.data else None

    async def put(self, key: str, value: bytes) -> int:
        self.data[key] = value
        return 1


class FakeReply:
    """The OpenSession request's reply seam."""

    def __init__(self) -> None:
        self.replies: list[bus_pb2.OpenSessionReply] = []

    async def respond(self, data: bytes) -> None:
        self.replies.append(bus_pb2.OpenSessionReply.FromString(data))


async def upstream_session(tools: list[ToolSpec] | None = None, setup: bytes = b"{}",
                           store: SessionStore | None = None, js: FakeJetStream | None = None,
                           client: Any = None, takeover: bool = False,
                           **settings: Any) -> tuple[UpstreamSession, FakeNats, FakeNats]:
    """A session prepared as `run` does (config and tools built), not yet connected. Turn
    detection is the upstream's unless `turn_detection` says otherwise: these tests stream
    arbitrary bytes as audio, which the local detector would hold back as silence. Two
    bridges' sessions share the records with `store` and the shadow log's stream with `js`."""
    settings.setdefault("turn_detection", "server")
    nc, nc_video = FakeNats(js), FakeNats()
    nc.tools = tools or []
    store = store or SessionStore(leases=FakeKV(), records=FakeKV())  # type: ignore[arg-type]
    s = UpstreamSession(bus_pb2.OpenSession(session_id="s1", model="models/m",
                                            setup_json=setup, takeover=takeover),
                        client or genai.Client(api_key="k"), nc, nc_video,  # type: ignore[arg-type]
                        BridgeSettings(**settings), ToolCatalog(nc, []),  # type: ignore[arg-type]
                        store)
    assert await s._prepare(FakeReply())  # type: ignore[arg-type]
    return s, nc, nc_video


def attach(session: UpstreamSession, sock: FakeSocket) -> Upstream:
    """Make `sock` the session's current upstream connection."""
    live = AsyncSession(api_client=session.conn.client._api_client,
                        websocket=sock)  # type: ignore[arg-type]
    session.conn.current = Upstream(live)
    session.conn.ready.set()
    return session.conn.current


class FakeLive:
    """`client.aio.live`: connect() yields the SDK's AsyncSession over a FakeSocket. `refuse`
    makes the next connects fail as the upstream would (an APIError with a close code)."""

    def __init__(self, client: genai.Client) -> None:
        self.client = client
        self.sockets: list[FakeSocket] = []
        self.configs: list[Any] = []
        self.refuse: list[Exception] = []

    @contextlib.asynccontextmanager
    async def connect(self, model: str, config: Any) -> AsyncIterator[AsyncSession]:
        self.configs.append(config)
        if self.refuse:
            raise self.refuse.pop(0)
        sock = FakeSocket()
        self.sockets.append(sock)
        try:
            yield AsyncSession(api_client=self.client._api_client, websocket=sock)  # type: ignore[arg-type]
        finally:
            sock.closed = True


class FakeClient:
    """Stands in for genai.Client where only `aio.live.connect` is used."""

    def __init__(self) -> None:
        self.live = FakeLive(genai.Client(api_key="k"))
        self.aio = self
