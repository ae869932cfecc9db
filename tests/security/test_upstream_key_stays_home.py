"""A client's setup cannot send the upstream connection (and its key) anywhere (issue 12, item 1).

A listener on loopback stands in for an attacker's host. Setups naming it in `httpOptions`
(camelCase, snake_case, nested) close with 1007 and a reason naming the field but not the host,
and the listener never sees a connection; a normal session on the same gateway still talks.
The SDK cannot carry httpOptions in a setup at all (services/gateway/tests/
test_gateway_setupfields.py shows its converter drops them).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from livebus import closecodes
from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import MODEL

from .gatewayclient import Live, attempt, open_live, turn_text


class Listener:
    """Counts every TCP connection to it (TLS or not, it never answers)."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0

    async def _on(self, _: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.close()


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    ln = Listener()
    server = await asyncio.start_server(ln._on, "127.0.0.1", 0)
    ln.port = server.sockets[0].getsockname()[1]
    async with server:
        yield ln


def hostile(port: int) -> list[dict[str, Any]]:
    url = f"https://127.0.0.1:{port}"
    return [
        {"model": MODEL, "httpOptions": {"baseUrl": url, "headers": {"x-a": "b"}}},
        {"model": MODEL, "http_options": {"base_url": url, "api_version": "v1beta"}},
        {"model": MODEL, "generationConfig": {"httpOptions": {"baseUrl": url}}},
        {"model": MODEL, "generation_config": {"temperature": 0.1},
         "httpOptions": {"baseUrl": url}},
    ]


async def test_http_options_close_1007_and_no_connection_leaves(stack: Stack,
                                                                listener: Listener) -> None:
    for setup in hostile(listener.port):
        out = await attempt(stack, setup)
        assert not out.opened, setup
        assert out.code == closecodes.INVALID_ARGUMENT, (setup, out)
        assert "ttp" in out.reason and "ptions" in out.reason, out.reason
        assert str(listener.port) not in out.reason and "127.0.0.1" not in out.reason
    await asyncio.sleep(1.0)  # anything that would have connected has had time to
    assert listener.connections == 0


async def test_tokens_cannot_lock_http_options_either(stack: Stack, listener: Listener) -> None:
    import httpx

    from livebus import tls
    body = {"bidiGenerateContentSetup": {"setup": {
        "httpOptions": {"baseUrl": f"https://127.0.0.1:{listener.port}"}}}}
    async with httpx.AsyncClient(verify=tls.client_context(stack.ca_file)) as c:
        r = await c.post(f"{stack.gateway_https()}/v1alpha/auth_tokens", json=body,
                         headers={"x-goog-api-key": stack.api_key})
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert listener.connections == 0


async def test_a_normal_session_still_talks(stack: Stack) -> None:
    ws, _ = await open_live(stack)
    async with ws:
        turn = await Live(ws).say("hello there")
    assert "hello there" in turn_text(turn).lower()
