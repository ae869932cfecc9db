"""Real `python -m livebus_tools` replicas: readiness, and a SIGTERM drain that loses no call."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from livebus import bus
from livebus import toolcalls as tc
from livebus_dev import procs

HERE = Path(__file__).resolve().parent


def start_replica(name: str, nats_url: str, log_dir: Path) -> tuple[procs.Proc, int]:
    port = procs.free_port()
    env = procs.child_env({
        "LIVEBUS_TOOLS_NATS_URL": nats_url,
        "LIVEBUS_TOOLS_HEALTH_PORT": str(port),
        "LIVEBUS_TOOLS_INSTANCE_ID": name,
        "LIVEBUS_TOOLS_BUILTINS": "true",
        "LIVEBUS_TOOLS_MODULES": "toolsamples",
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    })
    p = procs.Proc(name, procs.python_module("livebus_tools"), env, log_dir / f"{name}.log")
    return p.start(), port


@pytest.fixture
def replicas(nats_url: str, tmp_path: Path) -> Iterator[list[tuple[procs.Proc, int]]]:
    started = [start_replica(n, nats_url, tmp_path) for n in ("tools-a", "tools-b")]
    try:
        for p, port in started:
            procs.wait_http_ok(f"http://127.0.0.1:{port}/readyz", timeout=30, proc=p)
        yield started
    finally:
        for p, _ in started:
            p.stop()


def get_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=2) as r:
        return str(r.read().decode())


def get_json(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


async def test_sigterm_drains_without_losing_a_call(
        replicas: list[tuple[procs.Proc, int]], nats_url: str) -> None:
    (a, _), (_, b_port) = replicas
    assert get_json(f"http://127.0.0.1:{b_port}/readyz")[1]["ready"] is True
    nc = await bus.connect(nats_url, "test-drain")
    try:
        replies: list[tuple[float, tc.ToolReply]] = []

        async def one(i: int) -> None:
            r = await tc.call_tool(nc, "slow_echo", {"text": str(i), "delay_s": 0.4},
                                   uuid.uuid4().hex, "ann", "s-drain", timeout=5.0)
            replies.append((time.monotonic(), r))

        calls = []
        sigterm_at = 0.0
        for i in range(60):
            calls.append(asyncio.create_task(one(i)))
            if i == 20:
                sigterm_at = time.monotonic()
                a.signal(signal.SIGTERM)
            await asyncio.sleep(0.02)
        await asyncio.gather(*calls)
        errors = [r for _, r in replies if "error" in r]
        assert not errors, errors
        assert sorted(int(r["output"]["text"]) for _, r in replies) == list(range(60))
        by_a_after = [t for t, r in replies if r["served_by"] == "tools-a" and t > sigterm_at]
        assert by_a_after, "no call was in flight on the drained replica"
        assert {r["served_by"] for _, r in replies} == {"tools-a", "tools-b"}
        assert await asyncio.to_thread(a.popen.wait, 10) == 0  # type: ignore[union-attr]
        # The survivor still answers, and its metrics count the calls by tool.
        r = await tc.call_tool(nc, "get_current_time", {}, "after", "ann", "s-drain")
        assert r["served_by"] == "tools-b"
        text = await asyncio.to_thread(get_text, f"http://127.0.0.1:{b_port}/metrics")
        assert 'livebus_tools_calls_total{result="ok",tool="slow_echo"}' in text
        assert 'livebus_tools_call_seconds_bucket{le="0.5",tool="slow_echo"}' in text
    finally:
        await nc.close()
