"""The service against a real nats-server: replies, errors, deadlines, cancellation, dedupe."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import toolsamples
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from livebus import bus
from livebus import toolcalls as tc
from livebus_tools import Registry
from livebus_tools.loader import build_registry
from livebus_tools.service import ToolsService
from livebus_tools.settings import ToolsSettings

StartService = Callable[..., Awaitable[ToolsService]]  # the start_service fixture


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[NATS]:
    c = await bus.connect(nats_url, "test-client")
    yield c
    await c.close()


def samples() -> Registry:
    r = Registry()
    r.add_module(toolsamples)
    return r


def new_id() -> str:
    return uuid.uuid4().hex


async def call(nc: NATS, name: str, args: dict[str, object] | None = None, user: str = "ann",
               sid: str = "s1", call_id: str | None = None, timeout: float = 5.0) -> tc.ToolReply:
    return await tc.call_tool(nc, name, args, call_id or new_id(), user, sid, timeout)


async def test_inventory_lookup_returns_the_seeded_row(start_service: StartService,
                                                       nc: NATS) -> None:
    await start_service(build_registry(ToolsSettings()))
    r = await call(nc, "inventory_lookup", {"query": "BRG-6204-2RS"})
    assert "error" not in r, r
    assert r["output"]["count"] == 1
    row = r["output"]["matches"][0]
    assert row == {"part_number": "BRG-6204-2RS", "name": "Ball bearing 6204-2RS",
                   "description": "Deep groove ball bearing, 20x47x14 mm, rubber sealed both sides",
                   "bin": "A-01", "quantity": 42, "unit_price": 4.85}
    words = await call(nc, "inventory_lookup", {"query": "m3 screw"})
    assert [m["part_number"] for m in words["output"]["matches"]] == ["SCR-M3-10-SHC"]
    none = await call(nc, "inventory_lookup", {"query": "flux capacitor"})
    assert none["output"] == {"matches": [], "count": 0}


async def test_inventory_from_a_sqlite_dsn(start_service: StartService, nc: NATS,
                                           tmp_path: Path) -> None:
    db = tmp_path / "parts.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE inventory (part_number TEXT, name TEXT, description TEXT, "
                     "bin TEXT, quantity INTEGER, unit_price REAL)")
        conn.execute("INSERT INTO inventory VALUES "
                     "('X-1', 'Widget', 'a blue widget', 'Z-9', 3, 1.5)")
    conn.close()
    await start_service(build_registry(ToolsSettings()), inventory_dsn=f"sqlite:///{db}")
    r = await call(nc, "inventory_lookup", {"query": "blue widget"})
    assert r["output"]["matches"] == [{"part_number": "X-1", "name": "Widget",
                                       "description": "a blue widget", "bin": "Z-9",
                                       "quantity": 3, "unit_price": 1.5}]


async def test_get_current_time(start_service: StartService, nc: NATS) -> None:
    await start_service(build_registry(ToolsSettings()))
    r = await call(nc, "get_current_time", {"timezone": "Asia/Tokyo"})
    assert r["output"]["timezone"] == "Asia/Tokyo" and r["output"]["utc_offset"] == "+09:00"
    utc = await call(nc, "get_current_time", {"timezone": None})
    assert utc["output"]["timezone"] == "UTC"
    bad = await call(nc, "get_current_time", {"timezone": "Mars/Olympus"})
    assert bad["error"]["code"] == tc.TOOL_ERROR and "Mars/Olympus" in bad["error"]["message"]


async def test_notes_are_scoped_per_user(start_service: StartService, nc: NATS) -> None:
    await start_service(build_registry(ToolsSettings()))
    ann, bob = f"ann-{new_id()}@example.com", f"bob-{new_id()}"
    assert (await call(nc, "remember", {"note": "tyre pressure 2.4 bar", "topic": "car"},
                       user=ann))["output"]["saved"] is True
    await call(nc, "remember", {"note": "buy milk"}, user=ann)
    await call(nc, "remember", {"note": "bob's locker is 17"}, user=bob)
    ann_notes = (await call(nc, "recall", {}, user=ann))["output"]["notes"]
    assert [n["note"] for n in ann_notes] == ["buy milk", "tyre pressure 2.4 bar"]
    assert [n["note"] for n in (await call(nc, "recall", {"query": "CAR"},
                                            user=ann))["output"]["notes"]] == [
        "tyre pressure 2.4 bar"]
    bob_notes = (await call(nc, "recall", {}, user=bob))["output"]["notes"]
    assert [n["note"] for n in bob_notes] == ["bob's locker is 17"]
    nobody = await call(nc, "recall", {}, user="")
    assert nobody["error"]["code"] == tc.TOOL_ERROR


async def test_concurrent_remembers_all_land(start_service: StartService, nc: NATS) -> None:
    await start_service(build_registry(ToolsSettings()), instance_id="a")
    await start_service(build_registry(ToolsSettings()), instance_id="b")
    user = f"carol-{new_id()}"
    replies = await asyncio.gather(*[call(nc, "remember", {"note": f"n{i}"}, user=user)
                                     for i in range(8)])
    assert all("output" in r for r in replies), replies
    notes = (await call(nc, "recall", {"limit": 50}, user=user))["output"]["notes"]
    assert sorted(n["note"] for n in notes) == sorted(f"n{i}" for i in range(8))


async def test_invalid_args_never_reach_the_handler(start_service: StartService,
                                                    nc: NATS) -> None:
    await start_service(samples())
    before = toolsamples.RUNS.get("strict", 0)
    cases: list[tuple[dict[str, object], str]] = [
        ({"count": "3", "mode": "a"}, "count"),
        ({"count": 3, "mode": "c"}, "mode"),
        ({"mode": "a"}, "count"),
        ({"count": 3, "mode": "a", "extra": 1}, "extra"),
    ]
    for args, expect in cases:
        r = await call(nc, "strict", args)
        assert r["error"]["code"] == tc.INVALID_ARGS, r
        assert expect in r["error"]["message"]
    assert toolsamples.RUNS.get("strict", 0) == before
    ok = await call(nc, "strict", {"count": 3, "mode": "b"})
    assert ok["output"] == 3 and toolsamples.RUNS["strict"] == before + 1


async def test_a_raising_handler_yields_an_error(start_service: StartService, nc: NATS) -> None:
    await start_service(samples())
    r = await call(nc, "boom")
    assert r["error"] == {"code": tc.HANDLER_ERROR, "message": "boom failed (RuntimeError)"}
    bad = await call(nc, "not_json")
    assert bad["error"]["code"] == tc.HANDLER_ERROR


async def test_a_hanging_handler_times_out_within_its_deadline(start_service: StartService,
                                                               nc: NATS) -> None:
    await start_service(samples())
    call_id = new_id()
    t0 = time.monotonic()
    r = await call(nc, "hang", call_id=call_id)
    took = time.monotonic() - t0
    assert r["error"]["code"] == tc.TIMEOUT, r
    assert 0.3 <= took < 0.7, took
    assert call_id in toolsamples.CANCELLED_SEEN  # the handler was cancelled, not abandoned
    # The caller's own budget wins when it is shorter than the tool's timeout.
    t0 = time.monotonic()
    r = await call(nc, "slow_echo", {"text": "x", "delay_s": 2.0}, timeout=0.2)
    assert r["error"]["code"] == tc.TIMEOUT and time.monotonic() - t0 < 0.5
    # A sync handler cannot be cancelled; the reply still leaves at the deadline.
    t0 = time.monotonic()
    r = await call(nc, "stubborn")
    assert r["error"]["code"] == tc.TIMEOUT and time.monotonic() - t0 < 0.6


async def test_cancellation_reaches_the_handler(start_service: StartService, nc: NATS) -> None:
    await start_service(samples())
    call_id = new_id()
    pending = asyncio.create_task(call(nc, "wait_for_cancel", call_id=call_id, sid="s-cancel"))
    for _ in range(100):
        if toolsamples.RUNS.get("wait_for_cancel"):
            break
        await asyncio.sleep(0.01)
    t0 = time.monotonic()
    await tc.cancel_tool_calls(nc, "s-cancel", [call_id])
    r = await asyncio.wait_for(pending, 2.0)
    assert r["error"]["code"] == tc.CANCELLED, r
    assert time.monotonic() - t0 < 0.5
    assert call_id in toolsamples.CANCELLED_SEEN
    # A cancel for another session's call with the same id does nothing.
    other = asyncio.create_task(call(nc, "slow_echo", {"text": "hi", "delay_s": 0.2},
                                     call_id="c-1", sid="s-a"))
    await asyncio.sleep(0.05)
    await tc.cancel_tool_calls(nc, "s-b", ["c-1"])
    assert (await other)["output"]["text"] == "hi"


async def test_a_cancel_before_the_call_applies(start_service: StartService, nc: NATS) -> None:
    await start_service(samples())
    await tc.cancel_tool_calls(nc, "s-early", ["early-1"])
    await nc.flush()
    await asyncio.sleep(0.05)
    r = await call(nc, "slow_echo", {"text": "hi"}, call_id="early-1", sid="s-early")
    assert r["error"]["code"] == tc.CANCELLED


async def test_duplicate_call_ids_are_answered_once(start_service: StartService,
                                                    nc: NATS) -> None:
    await start_service(samples())
    before = toolsamples.RUNS.get("slow_echo", 0)
    call_id = new_id()
    args = {"text": "once", "delay_s": 0.2}
    first, second = await asyncio.gather(call(nc, "slow_echo", args, call_id=call_id),
                                         call(nc, "slow_echo", args, call_id=call_id))
    third = await call(nc, "slow_echo", args, call_id=call_id)
    assert first["output"] == second["output"] == third["output"] == {"text": "once",
                                                                       "user": "ann"}
    assert toolsamples.RUNS["slow_echo"] == before + 1
    # The same call id in another session is another call.
    await call(nc, "slow_echo", args, call_id=call_id, sid="s2")
    assert toolsamples.RUNS["slow_echo"] == before + 2


async def test_replicas_in_the_queue_group_share_calls(start_service: StartService,
                                                       nc: NATS) -> None:
    await start_service(samples(), instance_id="tools-a")
    await start_service(samples(), instance_id="tools-b")
    replies = await asyncio.gather(*[call(nc, "slow_echo", {"text": str(i), "delay_s": 0.05})
                                     for i in range(30)])
    assert [r["output"]["text"] for r in replies] == [str(i) for i in range(30)]
    served = [r.get("served_by") for r in replies]
    assert {"tools-a", "tools-b"} == set(served), served


async def test_declarations_over_the_bus(start_service: StartService, nc: NATS) -> None:
    await start_service(build_registry(ToolsSettings()))
    tools = await tc.list_tools(nc)
    names = [d["name"] for d in tc.function_declarations(tools)]
    assert sorted(names) == ["get_current_time", "inventory_lookup", "recall", "remember"]
    r = await call(nc, "get_current_time")
    fr = tc.function_response(r)
    assert fr["id"] == r["id"] and fr["name"] == "get_current_time"
    assert "time" in fr["response"]["output"]


async def test_unknown_tool_and_no_service_fail_fast(start_service: StartService,
                                                     nc: NATS) -> None:
    t0 = time.monotonic()
    r = await call(nc, "no_such_tool", timeout=5.0)
    assert r["error"]["code"] == tc.UNAVAILABLE
    assert time.monotonic() - t0 < 0.5
    bad = await call(nc, "a.b.c")
    assert bad["error"]["code"] == tc.UNKNOWN_TOOL


async def test_a_call_made_while_a_replica_subscribes_waits_for_it(nc: NATS) -> None:
    """A replica being replaced leaves a gap of a few ms with no responder: not the model's
    problem. (A stand-in replica on the test's connection, to control when it subscribes.)"""
    from livebus import subjects

    async def replica(msg: Msg) -> None:
        await msg.respond(tc.encode({"id": "x", "name": "late_tool", "output": {"ok": True}}))

    caller = asyncio.create_task(call(nc, "late_tool"))
    await asyncio.sleep(0.03)
    await nc.subscribe(subjects.tool_call("late_tool"), queue=subjects.TOOLS_QUEUE, cb=replica)
    await nc.flush()
    r = await caller
    assert r.get("output") == {"ok": True}, r


async def test_bad_requests_get_error_replies(start_service: StartService, nc: NATS) -> None:
    await start_service(samples())
    from livebus import subjects
    msg = await nc.request(subjects.tool_call("slow_echo"), b"not json", timeout=2)
    assert b'"bad_request"' in msg.data
    msg = await nc.request(subjects.tool_call("slow_echo"), b'{"id":"x","args":[1]}', timeout=2)
    assert b'"invalid_args"' in msg.data
