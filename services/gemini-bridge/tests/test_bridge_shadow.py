"""ShadowRecorder against a real nats-server: appends that fail while NATS is away are retried in
order until stored, and a retried append (same message id) is stored once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from livebus import bus, shadowlog
from livebus.shadowlog import Entry
from livebus_bridge.shadow import ShadowRecorder
from livebus_dev import procs


async def test_entries_written_while_nats_is_away_arrive_once_in_order(tmp_path: Path) -> None:
    port = procs.free_port()
    server = procs.nats_server(port, tmp_path / "store", tmp_path / "nats.log").start()
    procs.wait_tcp(port)
    url = f"nats://127.0.0.1:{port}"
    nc = await bus.connect(url, "test")
    try:
        js = nc.jetstream()
        await shadowlog.ensure_stream(js)
        rec = ShadowRecorder(js, "s1", retry_max_s=0.2)
        runner = asyncio.create_task(rec.run())
        rec.add(Entry(role="user", text="one"))
        await rec.flush()
        assert rec.pending == 0

        server.kill()
        for text in ("two", "three", "four"):
            rec.add(Entry(role="user", text=text))
        await asyncio.sleep(1.0)  # every attempt meanwhile fails
        assert rec.pending == 3
        server = procs.nats_server(port, tmp_path / "store", tmp_path / "nats.log").start()
        procs.wait_tcp(port)
        await rec.flush(timeout=15.0)
        assert rec.pending == 0
        runner.cancel()
        texts = [e.text for e in await shadowlog.read(js, "s1")]
        assert texts == ["one", "two", "three", "four"]
    finally:
        await nc.close()
        server.stop()


async def test_a_retried_append_is_stored_once(tmp_path: Path) -> None:
    port = procs.free_port()
    server = procs.nats_server(port, tmp_path / "store").start()
    procs.wait_tcp(port)
    nc = await bus.connect(f"nats://127.0.0.1:{port}", "test")
    try:
        js = nc.jetstream()
        await shadowlog.ensure_stream(js)
        entry = Entry(role="model", text="reply")
        for _ in range(3):  # as if the first two answers had been lost
            await shadowlog.append(js, "s2", entry, msg_id="entry-1")
        await shadowlog.append(js, "s2", Entry(role="user", text="next"), msg_id="entry-2")
        assert [e.text for e in await shadowlog.read(js, "s2")] == ["reply", "next"]
    finally:
        await nc.close()
        server.stop()
