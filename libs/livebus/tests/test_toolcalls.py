"""The bridge's tool client: whatever the bus does, a call ends with a reply for that call."""

from __future__ import annotations

import json
from typing import Any

import pytest
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from livebus import toolcalls


class Msg:
    def __init__(self, data: bytes) -> None:
        self.data = data


class FakeNats:
    """The NATS seam: answers every request with `reply` (bytes) or raises it."""

    def __init__(self, reply: bytes | BaseException) -> None:
        self.reply = reply
        self.requests = 0

    async def request(self, subject: str, payload: bytes, timeout: float) -> Msg:
        self.requests += 1
        if isinstance(self.reply, BaseException):
            raise self.reply
        return Msg(self.reply)


async def call(reply: bytes | BaseException) -> toolcalls.ToolReply:
    return await toolcalls.call_tool(FakeNats(reply), "clock", {}, "c1", "u",  # type: ignore[arg-type]
                                     "s1", 1.0)


@pytest.mark.parametrize(("raised", "code"), [
    (NoRespondersError(), toolcalls.UNAVAILABLE),
    (NatsTimeoutError(), toolcalls.TIMEOUT),
    (RuntimeError("connection closed"), toolcalls.UNAVAILABLE),
    (OSError("10.0.0.1:4222"), toolcalls.UNAVAILABLE),
])
async def test_every_failure_is_an_error_reply(raised: BaseException, code: str) -> None:
    reply = await call(raised)
    assert (reply["id"], reply["name"], reply["error"]["code"]) == ("c1", "clock", code)
    assert "10.0.0.1" not in json.dumps(reply)


@pytest.mark.parametrize("body", [
    b"not json", b"[1]", b"{}", b'{"error": "x"}', b'{"error": {"message": 1}}',
    b'{"output": 1, "error": {"code": "x"}}x',
])
async def test_a_bad_reply_is_a_handler_error(body: bytes) -> None:
    reply = await call(body)
    assert reply["error"]["code"] == toolcalls.HANDLER_ERROR and reply["id"] == "c1"


async def test_a_reply_is_always_for_this_call() -> None:
    other: dict[str, Any] = {"id": "someone-else", "name": "recall", "output": {"t": 1},
                             "served_by": "tools-a", "extra": "x"}
    reply = await call(json.dumps(other).encode())
    assert reply == {"id": "c1", "name": "clock", "output": {"t": 1}, "served_by": "tools-a"}
    response = toolcalls.function_response(reply)
    assert response == {"id": "c1", "name": "clock", "response": {"output": {"t": 1}}}
