"""NATS connections against a real nats-server: the coalescing flusher loses and reorders
nothing, and writes the publishes of consecutive loop turns at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from livebus import bus
from livebus_dev.testing.nats import running_nats


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_nats(tmp_path_factory.mktemp("nats")) as url:
        yield url


async def test_publishes_of_two_loop_turns_go_out_in_one_write(nats_url: str) -> None:
    pub, sub = await bus.connect(nats_url, "pub"), await bus.connect(nats_url, "sub")
    got: list[tuple[str, bytes]] = []
    done = asyncio.Event()

    async def on_msg(msg: Msg) -> None:
        got.append((msg.subject, msg.data))
        if len(got) == 40:
            done.set()

    try:
        await sub.subscribe("t.*", cb=on_msg)
        await sub.flush()
        assert pub._transport is not None
        writes: list[int] = []
        real = pub._transport.writelines

        def counted(data: Any) -> None:
            writes.append(len(data))
            real(data)

        pub._transport.writelines = counted  # type: ignore[method-assign]

        async def session(i: int) -> None:
            for k in range(4):
                await pub.publish(f"t.{i}", b"%d" % k)
                await asyncio.sleep(0)  # each chunk of a session a loop turn later

        await asyncio.gather(*(session(i) for i in range(10)))
        await asyncio.wait_for(done.wait(), 5)
    finally:
        await pub.close()
        await sub.close()
    for i in range(10):
        assert [d for s, d in got if s == f"t.{i}"] == [b"0", b"1", b"2", b"3"]
    # nats-py alone writes once per loop turn that published (4 here); one more turn joins them
    assert 1 <= len(writes) <= 2, writes


async def test_a_lone_publish_and_a_flush_still_go_out(nats_url: str) -> None:
    nc = await bus.connect(nats_url, "lone")
    try:
        sub = await nc.subscribe("lone")
        await nc.publish("lone", b"x")
        await nc.flush(timeout=2)
        msg = await sub.next_msg(timeout=2)
        assert msg.data == b"x"
    finally:
        await nc.close()


def test_check_passes_for_the_pinned_nats_py_and_fails_loudly_without_its_flusher(
        monkeypatch: pytest.MonkeyPatch) -> None:
    bus.check()
    monkeypatch.delattr(NATS, "_flusher")
    with pytest.raises(bus.SdkChanged):
        bus.check()
