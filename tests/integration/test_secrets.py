"""The upstream key exists only in the bridge's environment: no client byte, no log line has it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets
from converse import conversation

from livebus import tls
from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import MODEL, gateway_client, running_stack

PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"


@pytest.fixture(scope="module")
def debug_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Everything logging at DEBUG, where a leak would most likely show."""
    debug = {f"LIVEBUS_{s}_LOG_LEVEL": "DEBUG" for s in ("GATEWAY", "BRIDGE", "EMULATOR")}
    with running_stack(tmp_path_factory.mktemp("secrets"), extra_env=debug) as s:
        yield s


async def received_bytes(stack: Stack) -> bytes:
    """Everything a raw client receives in a short session, including an upstream error."""
    got = bytearray()
    url = stack.gateway_https().replace("https://", "wss://") + PATH
    async with websockets.connect(url, ssl=tls.client_context(stack.ca_file),
                                  additional_headers={"x-goog-api-key": stack.api_key}) as ws:
        await ws.send(json.dumps({"setup": {"model": MODEL,
                                            "sessionResumption": {"handle": "no-such-handle"}}}))
        try:
            while True:
                msg = await asyncio.wait_for(ws.recv(), 10)
                got += msg.encode() if isinstance(msg, str) else msg
        except websockets.ConnectionClosed as e:
            got += (e.rcvd.reason if e.rcvd else "").encode()
    return bytes(got)


async def test_upstream_key_never_reaches_clients_or_logs(debug_stack: Stack) -> None:
    key = debug_stack.emulator_key
    assert len(key) > 20
    async with gateway_client(debug_stack).aio as client:
        result = await conversation(client)
    seen = b"".join(m.model_dump_json().encode() for turn in
                    (result.spoken, result.typed, result.barge_in, result.after_barge_in)
                    for m in turn.messages)
    seen += await received_bytes(debug_stack)
    assert seen, "the client received something"
    assert key.encode() not in seen

    logs = sorted((debug_stack.cfg.dir / "logs").glob("*.log"))
    assert {p.stem for p in logs} >= {"gateway-0", "gemini-bridge-0", "gemini-emulator"}
    bridge_log = Path(debug_stack.cfg.dir / "logs" / "gemini-bridge-0.log").read_text()
    assert "upstream session open" in bridge_log, "the bridge did log at DEBUG"
    for path in logs:
        assert key not in path.read_text(errors="replace"), f"{path.name} contains the key"
