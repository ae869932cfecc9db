"""A bridge killed while the shadow log cannot be appended to (a stream electing a leader): the
control event it sent upstream is not in the log yet, and its record says so (ctl_logged behind
ctl_sent). The successor asks its gateway for that event again and logs it, without sending it
upstream a second time."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from bridge_fakes import FakeClient, FakeJetStream, FakeKV, FakeSocket, attach, upstream_session

from livebus import subjects
from livebus.sessions import SessionStore
from livebus.v1 import bus_pb2
from livebus_bridge.session import UpstreamSession


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.005)


def text(seq: int, words: str) -> bus_pb2.ClientEvent:
    return bus_pb2.ClientEvent(seq=seq, text=words)


def texts_sent(sock: FakeSocket) -> list[str]:
    return [m["realtime_input"]["text"] for m in sock.sent
            if "text" in m.get("realtime_input", {})]


def record(store: SessionStore) -> dict[str, int]:
    """What the session record holds now ({} before the first save)."""
    data: dict[str, int] = json.loads(store.records.data.get("s1", b"{}"))  # type: ignore[attr-defined]
    return data


def start(session: UpstreamSession) -> list[asyncio.Task[None]]:
    session.shadow.retry_max_s = 0.05
    return [asyncio.create_task(session.uplink.run()),
            asyncio.create_task(session.shadow.run()),
            asyncio.create_task(session.record.run())]


async def kill(tasks: list[asyncio.Task[None]]) -> None:
    """SIGKILL: nothing of the session's ending runs (no flush, no last save)."""
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def resend_requests(nc: object) -> list[int]:
    acks = [bus_pb2.Ack.FromString(data) for subject, data in nc.published  # type: ignore[attr-defined]
            if subject == subjects.ack_up("s1")]
    return [a.resend_from for a in acks if a.resend_from]


async def predecessor(js: FakeJetStream, store: SessionStore
                      ) -> tuple[FakeSocket, list[asyncio.Task[None]]]:
    """A bridge that logged "before", then sent "with a node down" while appends failed."""
    a, _, _ = await upstream_session(store=store, js=js)
    a.conv.handle = "h1"
    sock = FakeSocket()
    attach(a, sock)
    tasks = start(a)
    a.uplink.put(text(1, "before"))
    await until(lambda: record(store).get("ctl_logged") == 1)
    js.down = True
    a.uplink.put(text(2, "with a node down"))
    await until(lambda: record(store).get("ctl_sent") == 2 and js.failed >= 2)
    assert a.shadow.pending == 1 and record(store)["ctl_logged"] == 1
    await kill(tasks)
    return sock, tasks


async def successor(js: FakeJetStream, store: SessionStore
                    ) -> tuple[UpstreamSession, FakeClient, list[asyncio.Task[None]]]:
    client = FakeClient()
    b, _, _ = await upstream_session(store=store, js=js, client=client, takeover=True)
    await b._take_over()
    b.up = b.receiver()
    b.up.start()
    return b, client, start(b)


async def test_the_successor_logs_what_its_predecessor_sent_but_could_not_log() -> None:
    js, store = FakeJetStream(), SessionStore(leases=FakeKV(), records=FakeKV())  # type: ignore[arg-type]
    sock_a, _ = await predecessor(js, store)
    assert [e.text for e in js.entries("s1")] == ["before"]

    b, client, tasks = await successor(js, store)
    try:
        assert (b.conv.ctl_sent, b.conv.ctl_logged) == (2, 1)
        # The gateway replays what came since (held during the move), then, asked, resends
        # from its outbox from seq 2 on (acknowledged ones are kept for this).
        await b.up.control_in(text(3, "after the bridge died"))
        await until(lambda: 2 in resend_requests(b.nc))
        await b.up.control_in(text(2, "with a node down"))
        await b.up.control_in(text(3, "after the bridge died"))  # a duplicate: dropped
        (sock_b,) = client.live.sockets
        await until(lambda: texts_sent(sock_b) == ["after the bridge died"])
        js.down = False  # the stream has a leader again
        await until(lambda: record(store).get("ctl_logged") == 3)
    finally:
        await kill(tasks)
        await b.up.stop()
    assert texts_sent(sock_a) + texts_sent(sock_b) == [
        "before", "with a node down", "after the bridge died"]  # each upstream once
    assert [e.text for e in js.entries("s1")] == [
        "before", "with a node down", "after the bridge died"]  # each logged once, in order


async def test_an_entry_stored_unanswered_and_logged_again_is_stored_once() -> None:
    js, store = FakeJetStream(), SessionStore(leases=FakeKV(), records=FakeKV())  # type: ignore[arg-type]
    js.unanswered = True  # stored, but the answers are lost: the predecessor keeps retrying
    a, _, _ = await upstream_session(store=store, js=js)
    a.conv.handle = "h1"
    attach(a, FakeSocket())
    tasks = start(a)
    a.uplink.put(text(1, "hello"))
    await until(lambda: record(store).get("ctl_sent") == 1 and js.failed >= 2)
    await kill(tasks)
    js.unanswered = False
    b, _, tasks = await successor(js, store)
    try:
        await until(lambda: 1 in resend_requests(b.nc))
        await b.up.control_in(text(1, "hello"))
        await until(lambda: record(store).get("ctl_logged") == 1)
    finally:
        await kill(tasks)
        await b.up.stop()
    assert [e.text for e in js.entries("s1")] == ["hello"]


async def test_a_new_gateway_without_the_events_is_waited_for_briefly() -> None:
    """A client resuming through another gateway: nobody has seq 2 any more; the next event
    goes on after the receiver's recovery wait (1 s), and the entry stays missing."""
    js, store = FakeJetStream(), SessionStore(leases=FakeKV(), records=FakeKV())  # type: ignore[arg-type]
    await predecessor(js, store)
    js.down = False
    b, client, tasks = await successor(js, store)
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await b.up.control_in(text(3, "after"))  # numbered on from the reply's ctl_seq (2)
        (sock,) = client.live.sockets
        await until(lambda: texts_sent(sock) == ["after"])
        waited = loop.time() - started
    finally:
        await kill(tasks)
        await b.up.stop()
    assert 0.8 < waited < 1.8
    assert [e.text for e in js.entries("s1")] == ["before", "after"]
