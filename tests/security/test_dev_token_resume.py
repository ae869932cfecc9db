"""`POST /dev/token {"resume": handle}`: the page resumes its own session after a network blip.

The token keeps the identity of a genuine page handle (`page:<random>`); a forged handle, or the
handle of a session opened with a server key, gets a new identity (so the resume is refused, as
before); a body that is not `{}` / `{"resume": "<string>"}` within 4096 bytes is a 400.
"""

from __future__ import annotations

from typing import Any

import httpx
import jwt

from livebus import closecodes, tls
from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import MODEL

from .gatewayclient import Live, attempt, next_handle, open_live


def same_origin(stack: Stack) -> dict[str, str]:
    host = stack.gateway_http().removeprefix("http://")
    return {"host": host, "origin": f"http://{host}"}


async def dev_token(stack: Stack, body: Any = None, raw: bytes | None = None) -> httpx.Response:
    async with httpx.AsyncClient(verify=tls.client_context(stack.ca_file)) as c:
        if raw is not None:
            return await c.post(f"{stack.gateway_http()}/dev/token", headers=same_origin(stack),
                                content=raw)
        return await c.post(f"{stack.gateway_http()}/dev/token", headers=same_origin(stack),
                            json=body)


def user_of(token: str) -> str:
    claims = jwt.decode(token.removeprefix("auth_tokens/"), options={"verify_signature": False})
    return str(claims["user"])


async def handle_of_session(stack: Stack, credential: str) -> str:
    ws, _ = await open_live(stack, credential, {"model": MODEL, "sessionResumption": {}})
    async with ws:
        await Live(ws).say("hi")
        return await next_handle(ws)


async def test_a_page_handle_keeps_its_identity_and_resumes(stack: Stack) -> None:
    first = (await dev_token(stack)).json()["name"]
    handle = await handle_of_session(stack, first)
    again = (await dev_token(stack, {"resume": handle})).json()["name"]
    assert user_of(again) == user_of(first)
    out = await attempt(stack, {"model": MODEL, "sessionResumption": {"handle": handle}}, again)
    assert out.opened, (out.code, out.reason)


async def test_other_handles_get_a_new_identity_and_are_refused(stack: Stack) -> None:
    server_handle = await handle_of_session(stack, stack.api_key)
    for handle in (server_handle, "livebus-h1.forged", ""):
        token = (await dev_token(stack, {"resume": handle})).json()["name"]
        assert user_of(token).startswith("page:")
        if handle:
            out = await attempt(stack, {"model": MODEL, "sessionResumption": {"handle": handle}},
                                token)
            assert not out.opened and out.code == closecodes.INVALID_ARGUMENT, out.reason


async def test_malformed_bodies_are_refused(stack: Stack) -> None:
    assert (await dev_token(stack, raw=b"")).status_code == 200
    assert (await dev_token(stack, {})).status_code == 200
    bodies: list[object] = [[], "x", 5, {"resume": 5}, {"resume": ["h"]}, {"resume": {"a": 1}}]
    for body in bodies:
        r = await dev_token(stack, body)
        assert r.status_code == 400 and "name" not in r.json(), body
    for raw in (b"not json", b"{" * 5000, b'{"resume": "' + b"a" * 5000 + b'"}'):
        assert (await dev_token(stack, raw=raw)).status_code == 400, raw[:20]
