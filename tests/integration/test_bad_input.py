"""Contract: bad input gets a defined close code with a reason; other sessions are unaffected."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
import pytest
import websockets
from converse import conversation, mint_token

from livebus import closecodes, tls
from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import MODEL, gateway_client

PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
SETUP = json.dumps({"setup": {"model": MODEL}})
PCM = base64.urlsafe_b64encode(b"\x00\x01" * 320).decode()


def url(stack: Stack, query: str = "") -> str:
    return stack.gateway_https().replace("https://", "wss://") + PATH + query


async def closed_with(stack: Stack, frames: list[str | bytes], key: str | None = None,
                      query: str = "", setup: bool = True) -> tuple[int, str]:
    """Send frames (after a setup unless told not to) and return the close code and reason."""
    headers = {"x-goog-api-key": key or stack.api_key} if not query else {}
    async with websockets.connect(url(stack, query), ssl=tls.client_context(stack.ca_file),
                                  additional_headers=headers, max_size=None) as ws:
        if setup:
            await ws.send(SETUP)
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert "setupComplete" in first
        for f in frames:
            try:
                await ws.send(f)
            except websockets.ConnectionClosed:
                break
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        except websockets.ConnectionClosed as e:
            assert e.rcvd is not None, "the gateway sent a close frame"
            return e.rcvd.code, e.rcvd.reason
    raise AssertionError("unreachable")


def audio(mime: str = "audio/pcm;rate=16000", data: str = PCM) -> str:
    return json.dumps({"realtime_input": {"audio": {"data": data, "mime_type": mime}}})


CASES: list[tuple[str, list[str | bytes], int, str]] = [
    ("non-JSON", ["this is not json"], closecodes.INVALID_ARGUMENT, "Invalid JSON"),
    ("JSON that is not an object", ["[1, 2]"], closecodes.INVALID_ARGUMENT, "expected an object"),
    ("unknown top-level field", ['{"realtime_inputs": {}}'], closecodes.INVALID_ARGUMENT,
     'Unknown name "realtime_inputs"'),
    ("unknown realtime field", ['{"realtime_input": {"smell": {}}}'],
     closecodes.INVALID_ARGUMENT, "Unknown name"),
    ("second setup", [SETUP], closecodes.INVALID_ARGUMENT, "setup may only be sent once"),
    ("wrong audio mime", [audio("audio/wav")], closecodes.INVALID_ARGUMENT, "audio mime"),
    ("wrong audio rate", [audio("audio/pcm;rate=96000")], closecodes.INVALID_ARGUMENT,
     "rate"),
    ("broken base64", [audio(data="!!!not base64!!!")], closecodes.INVALID_ARGUMENT, "base64"),
    ("odd PCM length", [audio(data=base64.b64encode(b"\x00\x01\x02").decode())],
     closecodes.INVALID_ARGUMENT, "even number"),
    ("video with a non-image mime", [json.dumps(
        {"realtime_input": {"video": {"data": PCM, "mime_type": "text/plain"}}})],
     closecodes.INVALID_ARGUMENT, "mime type"),
    ("oversized message", ["x" * (4 * 1024 * 1024 + 10)], closecodes.TOO_BIG, "exceeds"),
    ("flood", [audio()] * 2000, closecodes.POLICY, "rate limit"),
]


@pytest.mark.parametrize(("frames", "code", "reason"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
async def test_bad_frames_close_with_a_defined_code(stack: Stack, frames: list[str | bytes],
                                                    code: int, reason: str) -> None:
    got_code, got_reason = await closed_with(stack, frames)
    assert got_code == code
    assert reason in got_reason


async def test_first_message_must_be_setup(stack: Stack) -> None:
    code, reason = await closed_with(stack, [audio()], setup=False)
    assert code == closecodes.INVALID_ARGUMENT
    assert "must be a setup" in reason


@pytest.mark.parametrize(("setup", "reason"), [
    ({"setup": {"model": "models/not-offered"}}, "not available"),
    ({"setup": {"model": MODEL, "generationConfig": {"colour": "blue"}}}, "Unknown name"),
    ({"setup": {"model": MODEL}, "extra": 1}, 'Unknown name "extra"'),
])
async def test_bad_setup(stack: Stack, setup: dict[str, Any], reason: str) -> None:
    code, got = await closed_with(stack, [json.dumps(setup)], setup=False)
    assert code == closecodes.INVALID_ARGUMENT
    assert reason in got


def _secret(stack: Stack) -> str:
    return (stack.cfg.dir / "token-secret").read_text().strip()


async def test_expired_token(stack: Stack) -> None:
    now = int(time.time())
    token = "auth_tokens/" + jwt.encode(
        {"iss": "livebus", "jti": "expired", "iat": now - 120, "exp": now - 60, "nse": now - 60,
         "uses": 1}, _secret(stack), algorithm="HS256")
    code, reason = await closed_with(stack, [SETUP], key=token, setup=False)
    assert (code, reason) == (closecodes.POLICY, "token expired")


async def test_token_past_its_new_session_time(stack: Stack) -> None:
    now = int(time.time())
    token = "auth_tokens/" + jwt.encode(
        {"iss": "livebus", "jti": "late", "iat": now - 120, "exp": now + 600, "nse": now - 1,
         "uses": 1}, _secret(stack), algorithm="HS256")
    code, reason = await closed_with(stack, [SETUP], key=token, setup=False)
    assert code == closecodes.POLICY
    assert "newSessionExpireTime" in reason


async def test_forged_token(stack: Stack) -> None:
    now = int(time.time())
    token = "auth_tokens/" + jwt.encode(
        {"iss": "livebus", "jti": "forged", "iat": now, "exp": now + 600, "nse": now + 60,
         "uses": 100}, "not-the-gateway-secret-but-long-enough-for-hs256", algorithm="HS256")
    code, reason = await closed_with(stack, [SETUP], key=token, setup=False)
    assert (code, reason) == (closecodes.POLICY, "invalid token")


async def test_token_cannot_be_reused(stack: Stack) -> None:
    async with gateway_client(stack, api_version="v1alpha").aio as server:
        token = await mint_token(server, uses=1)
    async with websockets.connect(url(stack), ssl=tls.client_context(stack.ca_file),
                                  additional_headers={"x-goog-api-key": token}) as ws:
        await ws.send(SETUP)
        assert "setupComplete" in json.loads(await asyncio.wait_for(ws.recv(), 10))
    code, reason = await closed_with(stack, [SETUP], key=token, setup=False)
    assert (code, reason) == (closecodes.POLICY, "token has already been used")


async def test_wrong_key_and_no_key(stack: Stack) -> None:
    assert await closed_with(stack, [SETUP], key="wrong", setup=False) == (
        closecodes.POLICY, "API key not valid")
    code, reason = await closed_with(stack, [SETUP], query="?x=1", setup=False)
    assert (code, reason) == (closecodes.POLICY, "missing API key or token")


async def test_token_in_query_parameter_works(stack: Stack) -> None:
    """Browsers cannot set headers: ?access_token= and ?key= carry the credential."""
    for param in ("access_token", "key"):
        async with gateway_client(stack, api_version="v1alpha").aio as server:
            token = await mint_token(server)
        async with websockets.connect(url(stack, f"?{param}={token}"),
                                      ssl=tls.client_context(stack.ca_file)) as ws:
            await ws.send(SETUP)
            assert "setupComplete" in json.loads(await asyncio.wait_for(ws.recv(), 10))


async def test_bad_input_does_not_disturb_another_session(stack: Stack) -> None:
    bad: list[Callable[[], Awaitable[tuple[int, str]]]] = [
        (lambda frames=c[1]: closed_with(stack, frames)) for c in CASES]
    async with gateway_client(stack).aio as client:
        good = asyncio.create_task(conversation(client))
        results = await asyncio.gather(*(b() for b in bad))
        assert all(code != closecodes.NORMAL for code, _ in results)
        result = await good
    assert result.spoken.turn_complete and result.typed.turn_complete
