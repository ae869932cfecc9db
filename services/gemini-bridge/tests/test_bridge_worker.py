"""Session accounting: active_sessions equals the sessions live, under churn."""

from __future__ import annotations

import asyncio
import functools
import random

from google import genai

from livebus import subjects
from livebus_bridge import metrics
from livebus_bridge.settings import BridgeSettings
from livebus_bridge.worker import Bridge


class FakeSession:
    """Stands in for UpstreamSession: the worker only keeps it by id."""


def gauge() -> float:
    return metrics.ACTIVE_SESSIONS._value.get()


def track(bridge: Bridge, sid: str, task: asyncio.Task[None]) -> None:
    """What Bridge._on_open does once the session is built."""
    session = FakeSession()
    bridge.live[sid] = session  # type: ignore[assignment]
    bridge.sessions[sid] = task
    metrics.ACTIVE_SESSIONS.set(len(bridge.sessions))
    task.add_done_callback(functools.partial(bridge._ended, sid, session))  # type: ignore[arg-type]


async def test_an_old_run_ending_late_leaves_the_new_one_counted() -> None:
    bridge = Bridge(BridgeSettings(), genai.Client(api_key="k"))
    old_end, new_end = asyncio.Event(), asyncio.Event()
    track(bridge, "s", asyncio.create_task(old_end.wait()))
    track(bridge, "s", asyncio.create_task(new_end.wait()))  # a takeover on the same bridge
    old_end.set()
    await asyncio.sleep(0.01)
    assert list(bridge.sessions) == ["s"] and "s" in bridge.live
    assert gauge() == 1
    new_end.set()
    await asyncio.sleep(0.01)
    assert not bridge.sessions and not bridge.live and gauge() == 0


async def test_churn_keeps_the_gauge_exact() -> None:
    bridge = Bridge(BridgeSettings(), genai.Client(api_key="k"))
    rnd = random.Random(7)
    live: dict[str, asyncio.Event] = {}  # the newest run of each session
    ending: list[asyncio.Event] = []
    for _ in range(400):
        sid = f"s{rnd.randrange(20)}"
        action = rnd.random()
        if action < 0.5:  # open or re-open (the old run, if any, is still ending)
            if sid in live:
                ending.append(live[sid])
            live[sid] = asyncio.Event()
            track(bridge, sid, asyncio.create_task(live[sid].wait()))
        elif action < 0.8 and ending:
            ending.pop(rnd.randrange(len(ending))).set()
        elif sid in live:
            live.pop(sid).set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert gauge() == len(live) == len(bridge.sessions)
    for ev in [*live.values(), *ending]:
        ev.set()
    await asyncio.sleep(0.01)
    assert gauge() == 0


class CountingNats:
    is_connected = True

    def __init__(self) -> None:
        self.subjects: list[str] = []

    async def publish(self, subject: str, payload: bytes = b"") -> None:
        self.subjects.append(subject)


async def test_heartbeats_have_a_connection_of_their_own() -> None:
    """Sessions' media on the main connection can never queue in front of a heartbeat."""
    bridge = Bridge(BridgeSettings(instance_id="b1", heartbeat_interval_s=0.01),
                    genai.Client(api_key="k"))
    main, alive = CountingNats(), CountingNats()
    bridge.nc, bridge.nc_alive = main, alive  # type: ignore[assignment]
    beat = asyncio.create_task(bridge._beat())
    await asyncio.sleep(0.1)
    beat.cancel()
    assert len(alive.subjects) >= 3 and set(alive.subjects) == {subjects.bridge_alive("b1")}
    assert main.subjects == []


async def test_a_draining_bridge_says_so_after_it_closed_nats() -> None:
    bridge = Bridge(BridgeSettings(), genai.Client(api_key="k"))
    assert bridge.ready() == (False, "not connected to NATS")
    await bridge.stop()  # the drain ends with the connections closed
    assert bridge.ready() == (False, "draining")
