"""Hostile call requests: each gets a defined error reply, the handler never runs, and the
service logs one line per kind of refusal, never a traceback per message."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import toolsamples
from nats.aio.client import Client as NATS

from livebus import bus, subjects
from livebus import toolcalls as tc
from livebus_tools import Registry
from livebus_tools.request import BadRequest, RequestLimits, check_args, parse
from livebus_tools.service import ToolsService

StartService = Callable[..., Awaitable[ToolsService]]  # the start_service fixture
LIMITS = RequestLimits(max_bytes=4096, max_depth=8)


def _code(data: bytes, name: str = "slow_echo") -> str:
    with pytest.raises(BadRequest) as e:
        parse(data, name, LIMITS)
    return e.value.reply["error"]["code"]


def test_parse_refuses_each_malformed_field() -> None:
    def body(**kw: object) -> bytes:
        return json.dumps({"id": "c1", "name": "slow_echo", "args": {}, **kw}).encode()

    assert _code(b"not json") == tc.BAD_REQUEST
    assert _code(b"[" * 100_000 + b"]" * 100_000) == tc.BAD_REQUEST  # RecursionError inside
    assert _code(b'{"args": {"x": NaN}}') == tc.BAD_REQUEST
    assert _code(b'{"timeout_s": Infinity}') == tc.BAD_REQUEST
    assert _code(b"[1]") == tc.BAD_REQUEST
    assert _code(b" " * 5000 + b"{}") == tc.BAD_REQUEST  # larger than max_bytes
    assert _code(body(name="remember")) == tc.BAD_REQUEST  # the subject names the tool
    for field in ("id", "user", "session_id", "name"):
        for value in (123, ["x"], {"a": 1}, True):
            assert _code(body(**{field: value})) == tc.BAD_REQUEST, (field, value)
    assert _code(body(args=[1])) == tc.INVALID_ARGS
    deep: object = 1
    for _ in range(9):
        deep = {"a": deep}
    assert _code(body(args={"x": deep})) == tc.INVALID_ARGS


def test_parse_accepts_a_normal_request() -> None:
    req = parse(json.dumps({"id": "c1", "name": "slow_echo", "args": {"text": "hi"},
                            "user": "ann", "session_id": "s1", "timeout_s": 2.5}).encode(),
                "slow_echo", LIMITS)
    assert req == {"id": "c1", "name": "slow_echo", "args": {"text": "hi"}, "user": "ann",
                   "session_id": "s1", "timeout_s": 2.5}
    minimal = parse(b"{}", "slow_echo", LIMITS)
    assert (minimal["user"], minimal["args"], minimal["timeout_s"]) == ("", {}, 0.0)
    for t in (-1, 0, 10**9, "5", True, None):
        assert parse(json.dumps({"timeout_s": t}).encode(), "x", LIMITS)["timeout_s"] == 0.0


def test_error_messages_are_bounded() -> None:
    bad = check_args(toolsamples.strict, {"count": 1, "mode": "x" * 100_000})
    assert bad is not None and "mode" in bad and len(bad) < 1000


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[NATS]:
    c = await bus.connect(nats_url, "test-hostile")
    yield c
    await c.close()


async def test_hostile_requests_get_replies_and_one_log_line_each(
        start_service: StartService, nc: NATS, caplog: pytest.LogCaptureFixture) -> None:
    r = Registry()
    r.add_module(toolsamples)
    await start_service(r, max_request_bytes=64 * 1024)
    before = toolsamples.RUNS.get("slow_echo", 0)
    hostile = [b"not json", b"[" * 50_000, b'{"args": NaN}', b'{"user": 5}',
               b'{"name": "boom"}', json.dumps({"args": {"text": "x" * 100_000}}).encode(),
               json.dumps({"args": [1, 2]}).encode()]
    caplog.set_level(logging.DEBUG, logger="livebus_tools")
    for _ in range(20):
        replies = await asyncio.gather(*[
            nc.request(subjects.tool_call("slow_echo"), data, timeout=5) for data in hostile])
        for data, msg in zip(hostile, replies, strict=True):
            reply = json.loads(msg.data)
            assert reply["error"]["code"] in (tc.BAD_REQUEST, tc.INVALID_ARGS), (data[:40], reply)
    assert toolsamples.RUNS.get("slow_echo", 0) == before
    mine = [rec for rec in caplog.records if rec.name.startswith("livebus_tools")]
    assert not any(rec.exc_info for rec in mine), "no traceback for a bad request"
    assert len(mine) <= len(hostile), [rec.getMessage() for rec in mine]
    # A failing handler: its traceback once, not once per call.
    caplog.clear()
    for _ in range(10):
        assert (await tc.call_tool(nc, "boom", {}, uuid.uuid4().hex, "ann", "s1", 5.0)
                )["error"]["code"] == tc.HANDLER_ERROR
    assert sum(1 for rec in caplog.records if rec.exc_info) == 1


async def test_arguments_and_results_never_reach_the_log(
        start_service: StartService, nc: NATS, caplog: pytest.LogCaptureFixture) -> None:
    r = Registry()
    r.add_module(toolsamples)
    await start_service(r)
    caplog.set_level(logging.DEBUG)
    secret = f"private-{uuid.uuid4().hex}"
    reply = await tc.call_tool(nc, "slow_echo", {"text": secret}, "c-log", "ann", "s1", 5.0)
    assert reply["output"]["text"] == secret
    assert not [rec for rec in caplog.records if secret in rec.getMessage()]
