"""Connections: open with the session's config only, the goAway plan, replacing one."""

from __future__ import annotations

import asyncio

from bridge_fakes import FakeClient
from google.genai import errors, types

from livebus.v1 import bus_pb2
from livebus_bridge.connection import Connection, switch
from livebus_bridge.settings import BridgeSettings
from livebus_bridge.state import Conversation


class Shadow:
    """The shadow log seam: a fixed history."""

    def __init__(self) -> None:
        self.flushed = 0

    async def flush(self) -> None:
        self.flushed += 1

    async def history(self) -> list[types.Content]:
        return [types.Content(role="user", parts=[types.Part(text="earlier")])]


def connection(**settings: float) -> tuple[Connection, FakeClient]:
    client = FakeClient()
    conn = Connection(client, "models/m", BridgeSettings(reconnect_base_s=0.001, **settings),  # type: ignore[arg-type]
                      Conversation())
    return conn, client


async def test_open_uses_the_handle_never_http_options_and_close_clears_ready() -> None:
    conn, client = connection()
    conn.config = types.LiveConnectConfig(http_options=types.HttpOptions(base_url="https://x"))
    await conn.open("h1")
    assert conn.ready.is_set() and conn.current is not None
    (config,) = client.live.configs
    assert config.http_options is None and config.session_resumption.handle == "h1"
    await conn.close()
    assert not conn.ready.is_set() and conn.current is None
    assert client.live.sockets[0].closed


async def test_a_stale_connection_failing_does_not_unready_the_new_one() -> None:
    conn, _ = connection()
    await conn.open(None)
    old = conn.current
    await conn.open(None)
    conn.closed_under(old)
    assert conn.ready.is_set()
    conn.closed_under(conn.current)
    assert not conn.ready.is_set()


async def test_goaway_between_turns_switches_now_in_a_turn_at_the_boundary() -> None:
    conn, _ = connection(goaway_margin_s=5.0)
    await conn.open(None)
    conn.go_away(60.0)
    assert conn.handoff.is_set()
    await conn.open(None)  # a new connection forgets the old plan
    assert not conn.handoff.is_set() and conn.goaway_deadline is None
    conn.conv.in_turn = True
    conn.go_away(60.0)
    assert not conn.handoff.is_set()
    conn.turn_ended()
    assert conn.handoff.is_set()


async def test_goaway_deadline_switches_mid_turn() -> None:
    conn, _ = connection(goaway_margin_s=5.0)
    await conn.open(None)
    conn.conv.in_turn = True
    conn.go_away(0.04)  # margin: a quarter of what is left
    await asyncio.wait_for(conn.handoff.wait(), 1.0)


async def test_switch_resumes_with_the_handle_and_cuts_an_open_turn() -> None:
    conn, client = connection()
    conn.conv.handle, conn.conv.prompt_tokens = "h1", 100
    await conn.open("h1")
    conn.conv.in_turn = True  # the reply is under way when the connection drops
    cut: list[bool] = []

    async def cut_turn() -> None:
        cut.append(True)

    shadow = Shadow()
    assert await switch(conn, "drop", bus_pb2.Close(code=1011), shadow,  # type: ignore[arg-type]
                        asyncio.Event(), cut_turn)
    assert cut == [True] and shadow.flushed == 1
    assert client.live.configs[-1].session_resumption.handle == "h1"
    assert conn.conv.resumed_check


async def test_switch_rebuilds_when_the_handle_is_refused() -> None:
    conn, client = connection()
    conn.conv.handle = "stale"
    await conn.open("stale")
    client.live.refuse = [errors.APIError(1007, {"error": {"message": "bad handle"}})]
    assert await switch(conn, "goaway", bus_pb2.Close(), Shadow(), asyncio.Event(),  # type: ignore[arg-type]
                        _noop)
    handles = [c.session_resumption.handle for c in client.live.configs]
    assert handles == ["stale", "stale", None]  # refused, then a fresh session with history
    history = client.live.sockets[-1].sent[0]["client_content"]["turns"]
    assert history[0]["parts"][0]["text"] == "earlier"


async def test_switch_gives_up_after_the_deadline() -> None:
    conn, client = connection(reconnect_deadline_s=0.05, reconnect_max_s=0.01)
    conn.conv.handle = "h"
    await conn.open("h")
    client.live.refuse = [ConnectionRefusedError()] * 1000
    assert not await switch(conn, "drop", bus_pb2.Close(code=1011), Shadow(),  # type: ignore[arg-type]
                            asyncio.Event(), _noop)


async def _noop() -> None:
    return None
