"""Malformed setups and token requests get their documented codes, never a 500/1006/1011 or a
traceback (issue 12, item 11)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from livebus import closecodes, tls
from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import MODEL

from .gatewayclient import attempt

M = '{"setup": {"model": "' + MODEL + '", '
BAD_SETUPS = [
    M + '"realtimeInputConfig": {"activityHandling": 2}}}',
    M + '"realtimeInputConfig": {"activityHandling": {"x": 1}}}}',
    M + '"generationConfig": {"responseModalities": [1]}}}',
    M + '"generationConfig": {"mediaResolution": ["MEDIA_RESOLUTION_LOW"]}}}',
    M + '"generationConfig": {"temperature": NaN}}}',
    M + '"generationConfig": {"maxOutputTokens": "many"}}}',
    M + '"systemInstruction": ' + '{"parts": [' * 300 + "]}" * 300 + "}}",
    '{"setup": ' + "[" * 50000 + "]" * 50000 + "}",
    M + '"tools": [{"functionDeclarations": [{"name": "f", "parameters": '
    + '{"properties": {"a": ' * 60 + "{}" + "}}" * 60 + "}]}]}}",
    M + '"contextWindowCompression": {"slidingWindow": {"targetTokens": 1e30}}}}',
]
BAD_USES = ["Infinity", "-Infinity", "NaN", "1e999", "9" * 400, '"3"', "true", "-1", "0",
            "1.5", "[]", "{}", "null"]


@pytest.mark.parametrize("frame", BAD_SETUPS)
async def test_malformed_setups_close_1007_with_a_reason(stack: Stack, frame: str) -> None:
    out = await attempt(stack, frame)
    assert not out.opened
    assert out.code == closecodes.INVALID_ARGUMENT and out.reason, out


@pytest.mark.parametrize("uses", BAD_USES)
async def test_bad_uses_are_400_invalid_argument(stack: Stack, uses: str) -> None:
    async with httpx.AsyncClient(verify=tls.client_context(stack.ca_file)) as c:
        r = await c.post(f"{stack.gateway_https()}/v1alpha/auth_tokens",
                         content='{"uses": ' + uses + "}",
                         headers={"x-goog-api-key": stack.api_key,
                                  "content-type": "application/json"})
    if uses == "null":  # absent: Google's default of one use
        assert r.status_code == 200
        return
    body: dict[str, Any] = r.json()
    assert r.status_code == 400 and body["error"]["status"] == "INVALID_ARGUMENT", body


async def test_deep_json_at_auth_tokens_is_400(stack: Stack) -> None:
    async with httpx.AsyncClient(verify=tls.client_context(stack.ca_file)) as c:
        r = await c.post(f"{stack.gateway_https()}/v1alpha/auth_tokens",
                         content="[" * 100000 + "]" * 100000,
                         headers={"x-goog-api-key": stack.api_key})
    assert r.status_code == 400


def test_no_traceback_in_the_gateway_log(stack: Stack) -> None:
    log = (stack.cfg.dir / "logs" / "gateway-0.log").read_text()
    assert "Traceback" not in log and '"level": "error"' not in log
