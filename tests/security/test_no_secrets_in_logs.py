"""No token, key or resumption handle in any log line at any level (issue 12, item 7).

Everything logs at DEBUG. A session opened with a token in `?access_token=` (where uvicorn logs
the path with its query) that asks for resumption handles, a transcript read with a handle, a
connection with a wrong `?key=` and one with a wrong `x-goog-api-key`: afterwards no log file of
the stack contains the token, its JWT, the handle or either wrong key.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator

import httpx
import pytest
import websockets

from livebus import tls
from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import MODEL, mint, running_stack

from .gatewayclient import Live, attempt, next_handle, wss

SERVICES = ("GATEWAY", "BRIDGE", "EMULATOR", "TOOLS", "SAMPLER")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    debug = {f"LIVEBUS_{s}_LOG_LEVEL": "DEBUG" for s in SERVICES}
    with running_stack(tmp_path_factory.mktemp("logs"), extra_env=debug) as s:
        yield s


async def test_no_credential_in_any_log_line(stack: Stack) -> None:
    token = await mint(stack, {"uses": 2, "livebus": {"user": "logged"}})
    async with websockets.connect(wss(stack, f"access_token={token}"),
                                  ssl=tls.client_context(stack.ca_file)) as ws:
        await ws.send(json.dumps({"setup": {"model": MODEL, "sessionResumption": {}}}))
        complete = json.loads(await asyncio.wait_for(ws.recv(), 20))["setupComplete"]
        await Live(ws).say("hello")
        handle = await next_handle(ws)
    async with httpx.AsyncClient(verify=tls.client_context(stack.ca_file)) as c:
        r = await c.get(f"{stack.gateway_https()}/livebus/v1/sessions/"
                        f"{complete['sessionId']}/transcript?key={handle}")
        assert r.status_code == 200
    wrong_query = "wrong-" + secrets.token_urlsafe(16)
    wrong_header = "wrong-" + secrets.token_urlsafe(16)
    assert (await attempt(stack, {"model": MODEL}, query=f"key={wrong_query}")).code == 1008
    assert (await attempt(stack, {"model": MODEL}, wrong_header)).code == 1008
    await asyncio.sleep(0.5)  # let the last lines reach the files

    needles = {"token": token, "jwt": token.removeprefix("auth_tokens/"),
               "handle": handle, "handle jwt": handle.removeprefix("livebus-h1."),
               "wrong ?key=": wrong_query, "wrong header key": wrong_header,
               "server key": stack.api_key}
    logs = sorted((stack.cfg.dir / "logs").glob("*.log"))
    text = {p.name: p.read_text(errors="replace") for p in logs}
    assert "access_token=" in text["gateway-0.log"] or "WebSocket" in text["gateway-0.log"] \
        or len(text["gateway-0.log"]) > 1000, "the gateway did log at DEBUG"
    for name, content in text.items():
        for what, needle in needles.items():
            assert needle not in content, f"{name} contains the {what}"
