"""A session's setup cannot choose where the bridge connects (issue 12, item 1).

The gateway refuses `httpOptions`; this shows the bridge is safe without it: an OpenSession
published straight on the bus, whose setup points `httpOptions.baseUrl` at a listener on
loopback, opens the session on the configured upstream (the emulator) and the listener never sees
a connection, so it can never see the upstream key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator

import pytest

from livebus import bus, closecodes, subjects
from livebus.v1 import bus_pb2
from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import MODEL


class Listener:
    def __init__(self) -> None:
        self.connections = 0
        self.received = b""
        self.port = 0

    async def on_connect(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        self.connections += 1
        with contextlib.suppress(TimeoutError, ConnectionError):
            self.received += await asyncio.wait_for(r.read(65536), 1.0)
        w.close()


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    lst = Listener()
    server = await asyncio.start_server(lst.on_connect, "127.0.0.1", 0)
    lst.port = server.sockets[0].getsockname()[1]
    async with server:
        yield lst


@pytest.mark.parametrize("field", ["httpOptions", "http_options"])
async def test_bridge_connects_only_where_it_is_configured(stack: Stack, listener: Listener,
                                                           field: str) -> None:
    replies = []
    for scheme in ("https", "http"):
        opts = {"baseUrl": f"{scheme}://127.0.0.1:{listener.port}",
                "headers": {"x-goog-api-key": "mine"}, "apiVersion": "v1alpha"}
        sid = uuid.uuid4().hex
        req = bus_pb2.OpenSession(session_id=sid, model=MODEL, user="attacker",
                                  setup_json=json.dumps({field: opts}).encode())
        nc = await bus.connect(stack.nats_url, "attacker")
        try:
            msg = await nc.request(subjects.BRIDGE_OPEN, req.SerializeToString(), timeout=10)
            replies.append(bus_pb2.OpenSessionReply.FromString(msg.data))
            await nc.publish(subjects.up_ctl(sid), bus_pb2.ClientEvent(
                close=bus_pb2.Close(code=closecodes.NORMAL)).SerializeToString())
            await nc.flush()
        finally:
            await nc.close()
    await asyncio.sleep(0.5)
    assert listener.connections == 0, "the bridge connected to the client's host"
    assert stack.emulator_key.encode() not in listener.received
    assert all(r.ok for r in replies), replies  # opened on the emulator, the configured upstream
