"""`POST /dev/token`: only same-origin on the loopback HTTP port, a new identity each (item 9).

Refused (403) for a hostile Origin, `Origin: null`, no Origin, a spoofed Host, and on the TLS
port; each token that is handed out is its own user `page:<random>`, so one visitor's
resumption handle does not resume another visitor's session.
"""

from __future__ import annotations

import httpx
import jwt

from livebus import closecodes, tls
from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import MODEL

from .gatewayclient import Live, attempt, next_handle, open_live


def same_origin(stack: Stack) -> dict[str, str]:
    host = stack.gateway_http().removeprefix("http://")
    return {"host": host, "origin": f"http://{host}"}


async def post(base: str, headers: dict[str, str], stack: Stack) -> httpx.Response:
    async with httpx.AsyncClient(verify=tls.client_context(stack.ca_file)) as c:
        return await c.post(f"{base}/dev/token", headers=headers)


async def test_refused_unless_same_origin_on_loopback_http(stack: Stack) -> None:
    own = same_origin(stack)
    host = own["host"]
    port = host.rsplit(":", 1)[1]
    hostile = [
        {"host": host, "origin": "https://evil.example"},
        {"host": host, "origin": "null"},
        {"host": host},
        {"host": f"evil.example:{port}", "origin": f"http://evil.example:{port}"},
        {"host": host, "origin": f"http://{host}.evil.example"},
    ]
    for headers in hostile:
        r = await post(stack.gateway_http(), headers, stack)
        assert r.status_code == 403, headers
        assert "name" not in r.json()
    tls_host = stack.gateway_https().removeprefix("https://")
    r = await post(stack.gateway_https(), {"host": tls_host, "origin": f"https://{tls_host}"},
                   stack)
    assert r.status_code == 403
    assert (await post(stack.gateway_http(), own, stack)).status_code == 200


async def test_each_visitor_is_a_distinct_identity(stack: Stack) -> None:
    a = (await post(stack.gateway_http(), same_origin(stack), stack)).json()["name"]
    b = (await post(stack.gateway_http(), same_origin(stack), stack)).json()["name"]
    users = [jwt.decode(t.removeprefix("auth_tokens/"), options={"verify_signature": False})
             ["user"] for t in (a, b)]
    assert users[0] != users[1] and all(u.startswith("page:") for u in users)

    ws, _ = await open_live(stack, a, {"model": MODEL, "sessionResumption": {}})
    async with ws:
        await Live(ws).say("hi")
        handle = await next_handle(ws)
    assert handle.startswith("livebus-h1.")
    out = await attempt(stack, {"model": MODEL, "sessionResumption": {"handle": handle}}, b)
    assert not out.opened
    assert out.code == closecodes.INVALID_ARGUMENT and "resumption handle" in out.reason
