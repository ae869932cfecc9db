"""Bounded HTTP: huge or many headers, slow and idle connections, a connection cap (item 5).

Ten unauthenticated requests with 16 MiB of headers each get a 400 (or a closed connection)
quickly and leave the gateway's memory within 10 % of its baseline; more than max_headers
header lines get 431; a connection that sends nothing is dropped after handshake_timeout_s;
past max_connections a new connection is dropped at once while open sessions keep talking;
a request body that does not arrive within request_timeout_s gets 408.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator

import pytest

from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import running_stack

from .gatewayclient import Live, open_live, rss_kib, turn_text

MAX_CONNECTIONS = 40
HANDSHAKE_S = 3.0
REQUEST_S = 2.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {"LIVEBUS_GATEWAY_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
           "LIVEBUS_GATEWAY_HANDSHAKE_TIMEOUT_S": str(HANDSHAKE_S),
           "LIVEBUS_GATEWAY_REQUEST_TIMEOUT_S": str(REQUEST_S)}
    with running_stack(tmp_path_factory.mktemp("http"), extra_env=env) as s:
        yield s


def port(stack: Stack) -> int:
    return int(stack.gateway_http().rsplit(":", 1)[1])


async def status_of(stack: Stack, request: bytes, timeout: float = 10.0) -> tuple[str, float]:
    """The status line the gateway answers with (or "closed"), and how long it took."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port(stack))
    try:
        with contextlib.suppress(ConnectionError):
            writer.write(request)
            await asyncio.wait_for(writer.drain(), timeout)
        line = await asyncio.wait_for(reader.readline(), timeout)
    except (ConnectionError, TimeoutError):
        line = b""
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    return line.decode(errors="replace").strip() or "closed", time.monotonic() - started


async def test_huge_headers_are_refused_and_cost_no_memory(stack: Stack) -> None:
    big = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Fill: " + b"a" * (16 << 20) + b"\r\n\r\n"
    await status_of(stack, b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # warm up
    await status_of(stack, big[: 1 << 20])
    baseline = rss_kib(stack)
    results = await asyncio.gather(*(status_of(stack, big) for _ in range(10)))
    after = rss_kib(stack)
    for line, took in results:
        assert line.startswith(("HTTP/1.1 400", "HTTP/1.1 431")) or line == "closed", line
        assert took < 8, took
    assert after <= baseline * 1.10, f"RSS {baseline} -> {after} KiB"


async def test_too_many_headers_get_431(stack: Stack) -> None:
    lines = b"".join(b"X-H%d: v\r\n" % i for i in range(300))
    line, _ = await status_of(stack, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + lines + b"\r\n")
    assert line.startswith("HTTP/1.1 431"), line
    ok, _ = await status_of(stack, b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert ok.startswith("HTTP/1.1 200"), ok


async def test_a_silent_connection_is_dropped(stack: Stack) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port(stack))
    started = time.monotonic()
    try:
        assert await asyncio.wait_for(reader.read(1), 10) == b""
    finally:
        writer.close()
    assert HANDSHAKE_S - 0.5 < time.monotonic() - started < HANDSHAKE_S + 7


async def test_a_body_that_never_comes_gets_408(stack: Stack) -> None:
    """Headers with a server key promise 1000 bytes of body; 10 arrive, then nothing."""
    request = (b"POST /v1alpha/auth_tokens HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"x-goog-api-key: " + stack.api_key.encode() + b"\r\n"
               b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"uses\": 1")
    line, took = await status_of(stack, request)
    assert line.startswith("HTTP/1.1 408"), line
    assert REQUEST_S - 0.5 < took < REQUEST_S + 5


async def test_connections_past_the_cap_are_dropped_sessions_go_on(stack: Stack) -> None:
    ws, _ = await open_live(stack)
    started = time.monotonic()
    held = [await asyncio.open_connection("127.0.0.1", port(stack))
            for _ in range(MAX_CONNECTIONS + 5)]
    try:
        for reader, _ in held[-5:]:  # dropped at once, well before the handshake timeout
            assert await asyncio.wait_for(reader.read(1), HANDSHAKE_S / 2) == b""
        assert time.monotonic() - started < HANDSHAKE_S - 0.5
        with pytest.raises(TimeoutError):  # the first ones are still open
            await asyncio.wait_for(held[0][0].read(1), 0.1)
        async with ws:
            assert "steady" in turn_text(await Live(ws).say("steady")).lower()
    finally:
        for _, writer in held:
            writer.close()
