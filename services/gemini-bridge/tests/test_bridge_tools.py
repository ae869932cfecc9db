"""Server tools: what a grant means, and every call ending with a function response."""

from __future__ import annotations

import asyncio
from typing import Any

from google.genai import types

from livebus import toolcalls
from livebus.toolcalls import ToolSpec
from livebus.v1 import bus_pb2
from livebus_bridge.tools import SessionTools, granted


def spec(name: str) -> ToolSpec:
    return {"declaration": {"name": name, "description": name}, "timeout_s": 1.0,
            "behavior": "BLOCKING"}


SPECS = [spec("recall"), spec("remember"), spec("clock")]


def names(specs: list[ToolSpec]) -> list[str]:
    return [s["declaration"]["name"] for s in specs]


def test_an_empty_grant_grants_no_server_tool() -> None:
    req = bus_pb2.OpenSession(tools_granted=True, allowed_tools=[])
    assert granted(SPECS, req) == []


def test_a_grant_narrows_and_no_grant_means_the_default() -> None:
    assert names(granted(SPECS, bus_pb2.OpenSession(tools_granted=True,
                                                    allowed_tools=["clock", "nope"]))) == ["clock"]
    assert names(granted(SPECS, bus_pb2.OpenSession())) == names(SPECS)


class ExplodingNats:
    """The NATS seam: every request fails in a way nobody planned for."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.published: list[tuple[str, bytes]] = []

    async def request(self, subject: str, payload: bytes, timeout: float) -> Any:
        raise self.error

    async def publish(self, subject: str, payload: bytes) -> None:
        self.published.append((subject, payload))


async def test_a_call_whose_request_fails_oddly_still_gets_a_function_response() -> None:
    for error in (RuntimeError("boom"), ConnectionResetError(), KeyError("x")):
        sent: list[list[dict[str, Any]]] = []

        async def send(responses: list[dict[str, Any]], sent: list[Any] = sent) -> None:
            sent.append(responses)

        tools = SessionTools(ExplodingNats(error), [spec("clock")], "u", "s1",  # type: ignore[arg-type]
                             send)
        call = types.LiveServerToolCall(function_calls=[
            types.FunctionCall(id="c1", name="clock", args={})])
        assert tools.split(call) == []
        await asyncio.wait_for(asyncio.gather(*tools.running.values()), 5)
        assert len(sent) == 1 and len(sent[0]) == 1
        response = sent[0][0]
        assert response["id"] == "c1" and response["name"] == "clock"
        assert response["response"]["error"]["code"] == toolcalls.UNAVAILABLE
        assert "boom" not in str(response)


async def test_call_tool_returns_a_reply_whatever_the_request_raises() -> None:
    reply = await toolcalls.call_tool(ExplodingNats(RuntimeError("boom")),  # type: ignore[arg-type]
                                      "clock", {}, "c1", "u", "s1", 1.0)
    assert reply["error"]["code"] == toolcalls.UNAVAILABLE


async def test_client_calls_pass_and_cancel_splits_ids() -> None:
    async def send(_: list[dict[str, Any]]) -> None:
        await asyncio.sleep(10)

    class Slow(ExplodingNats):
        async def request(self, subject: str, payload: bytes, timeout: float) -> Any:
            await asyncio.sleep(10)

    nc = Slow(RuntimeError())
    tools = SessionTools(nc, [spec("clock")], "u", "s1", send)  # type: ignore[arg-type]
    call = types.LiveServerToolCall(function_calls=[
        types.FunctionCall(id="a", name="clock", args={}),
        types.FunctionCall(id="b", name="mine", args={})])
    assert [c.id for c in tools.split(call)] == ["b"]
    assert tools.split(call)[0].id == "b"  # the server call is answered once only
    assert tools.cancel(["a", "b"]) == ["b"]
    await asyncio.sleep(0.01)
    assert not tools.running and nc.published
    tools.close()
