"""A NATS node goes away (a crash, a rolling upgrade) under a live conversation.

A real 3-node JetStream cluster on loopback, every stream and bucket with 3 replicas, every
service given all three URLs. The node the session's bridge is connected to is SIGKILLed while a
reply streams, then each other node in turn (restarted in between). Every turn is answered,
transcripts arrive exactly once, the shadow log holds every turn exactly once, new sessions open
and ephemeral tokens are counted exactly once throughout; and the same with the owning bridge
SIGKILLed while a node is down, and SIGKILLed while the shadow log has no leader (the turn it
sent upstream is logged by its successor, and reaches the upstream once).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from collections.abc import Callable, Iterator

import nats
import pytest
import websockets
from converse import CONFIG, mint_token, read_turn, speak
from google.genai import types
from google.genai.live import AsyncSession
from websockets.exceptions import ConnectionClosed

from livebus import closecodes, shadowlog, subjects, tls
from livebus_dev.devstack import Stack
from livebus_dev.testing.cluster import Cluster, running_cluster
from livebus_dev.testing.emulator import sessions
from livebus_dev.testing.stack import MODEL, gateway_client, running_stack

from .cluster_probes import reliability_metrics, until_status

PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
SETUP = json.dumps({"setup": {"model": MODEL}})
REPLICAS = {f"LIVEBUS_{svc}_JS_REPLICAS": "3" for svc in ("GATEWAY", "BRIDGE", "TOOLS", "SAMPLER")}
TURN_BOUND_S = 3.0  # past the same turn's time with every node up


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster")) as c:
        yield c


@pytest.fixture(scope="module")
def stack(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack"), bridges=2, emulator_pace=4.0,
                       nats_url=cluster.url, extra_env=REPLICAS) as s:
        yield s


async def ask(session: AsyncSession, text: str) -> None:
    await session.send_client_content(
        turns=types.Content(role="user", parts=[types.Part(text=text)]), turn_complete=True)


async def kv_value(stack: Stack, bucket: str, key: str) -> bytes:
    nc = await nats.connect(stack.nats_url.split(","))
    try:
        entry = await (await nc.jetstream().key_value(bucket)).get(key)
        return entry.value or b""
    finally:
        await nc.close()


async def shadow(stack: Stack, session_id: str) -> list[shadowlog.Entry]:
    nc = await nats.connect(stack.nats_url.split(","))
    try:
        return await shadowlog.read(nc.jetstream(), session_id)
    finally:
        await nc.close()


async def shadow_until(stack: Stack, session_id: str,
                       done: Callable[[list[shadowlog.Entry]], bool],
                       timeout: float = 15.0) -> list[shadowlog.Entry]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            entries = await shadow(stack, session_id)
        except nats.errors.TimeoutError:  # the stream is electing a leader: ask again
            entries = []
        if done(entries) or time.monotonic() > deadline:
            await asyncio.sleep(0.5)  # and nothing more (no second copy) comes after
            return await shadow(stack, session_id)
        await asyncio.sleep(0.2)


async def until_record(stack: Stack, session_id: str,
                       done: Callable[[dict[str, int]], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            if done(json.loads(await kv_value(stack, subjects.KV_SESSIONS, session_id))):
                return
        assert time.monotonic() < deadline, "the session record was not written"
        await asyncio.sleep(0.1)


async def opens(stack: Stack, key: str) -> tuple[bool, str]:
    """Open a session with this credential: (setupComplete came, the close if refused)."""
    url = stack.gateway_https().replace("https://", "wss://") + PATH
    async with websockets.connect(url, ssl=tls.client_context(stack.ca_file),
                                  additional_headers={"x-goog-api-key": key}) as ws:
        await ws.send(SETUP)
        try:
            first = json.loads(await asyncio.wait_for(ws.recv(), 30))
        except ConnectionClosed as e:
            return False, f"{e.rcvd.code} {e.rcvd.reason}" if e.rcvd else "no close frame"
        return "setupComplete" in first, ""


async def tokens_count_right(stack: Stack) -> None:
    """A 2-use token opens two sessions and is refused on the third."""
    async with gateway_client(stack, api_version="v1alpha").aio as server:
        token = await mint_token(server, uses=2)
    assert await opens(stack, token) == (True, "")
    assert await opens(stack, token) == (True, ""), "the first use was not counted twice"
    assert await opens(stack, token) == (
        False, f"{closecodes.POLICY} token has already been used"), "every use was counted"


async def timed_turn(session: AsyncSession, text: str,
                     kill: Callable[[], None] | None = None) -> float:
    """Ask, and (if given) call `kill` once the reply's audio streams; the seconds
    until turnComplete. The reply's transcript holds the question exactly once."""
    started = time.monotonic()
    await ask(session, text)
    audio = asyncio.Event()
    reader = asyncio.create_task(read_turn(session, 1, audio))
    if kill is not None:
        await asyncio.wait_for(audio.wait(), 10)
        kill()
    turn = await asyncio.wait_for(reader, 15)
    assert turn.turn_complete and turn.output_text.count(text) == 1, turn.output_text
    return time.monotonic() - started


async def spoken_turn(session: AsyncSession) -> float:
    started = time.monotonic()
    await speak(session, 0.6)
    turn = await asyncio.wait_for(read_turn(session), 15)
    assert turn.turn_complete and turn.audio_bytes > 0
    return time.monotonic() - started


async def test_every_stream_and_bucket_has_three_replicas(stack: Stack) -> None:
    nc = await nats.connect(stack.nats_url.split(","))
    try:
        js = nc.jetstream()
        names = [subjects.SHADOW_STREAM] + [f"KV_{b}" for b in (
            subjects.KV_SESSION_LEASES, subjects.KV_SESSIONS, subjects.KV_TOKEN_USES)]
        replicas = {n: (await js.stream_info(n)).config.num_replicas for n in names}
    finally:
        await nc.close()
    assert replicas == dict.fromkeys(names, 3)


async def until_streams_have_leaders(stack: Stack, timeout: float = 20.0) -> None:
    names = [subjects.SHADOW_STREAM] + [f"KV_{b}" for b in (
        subjects.KV_SESSION_LEASES, subjects.KV_SESSIONS, subjects.KV_TOKEN_USES)]
    nc = await nats.connect(stack.nats_url.split(","))
    try:
        js = nc.jetstream(timeout=1.0)
        deadline = time.monotonic() + timeout
        while True:
            try:
                infos = [await js.stream_info(n) for n in names]
                if all(i.cluster is not None and i.cluster.leader for i in infos):
                    return
            except Exception:
                pass
            assert time.monotonic() < deadline, "streams without a leader"
            await asyncio.sleep(0.2)
    finally:
        await nc.close()


def owner_node(cluster: Cluster, bridge: str) -> int:
    return cluster.node_of(f"{bridge}-main")


async def test_rolling_node_loss_mid_turn(stack: Stack, cluster: Cluster) -> None:
    async with gateway_client(stack).aio as client, client.live.connect(
            model=MODEL, config=CONFIG) as session:
        sid = session.session_id
        assert sid
        baseline = max(await timed_turn(session, "warm up"), await spoken_turn(session))
        typed = ["warm up"]
        bridge = (await kv_value(stack, subjects.KV_SESSION_LEASES, sid)).decode()
        first = owner_node(cluster, bridge)
        order = [first] + [i for i in range(3) if i != first]
        times: list[float] = []
        for n, node in enumerate(order):
            text = f"question {n} while node {node} goes"
            times.append(await timed_turn(session, text, functools.partial(cluster.kill, node)))
            typed.append(text)
            times.append(await spoken_turn(session))  # while the node is down
            text = f"typed {n} with node {node} down"
            times.append(await timed_turn(session, text))
            typed.append(text)
            await tokens_count_right(stack)
            cluster.start(node)
            cluster.wait_healthy(node)
        print(f"baseline {baseline:.2f} s; turns with a node lost:",
              [round(t, 2) for t in times])
        assert max(times) < baseline + TURN_BOUND_S
    # Appends made while the shadow stream elected a leader arrive once it has one.
    entries = await shadow_until(stack, sid, lambda es: len(es) >= 2 * (len(typed) + 4))
    assert [e.text for e in entries if e.role == "user" and e.kind == "text"] == typed
    assert len([e for e in entries if e.role == "user" and e.kind == "speech"]) == 1 + 3
    assert len([e for e in entries if e.role == "model"]) == len(typed) + 1 + 3
    assert all(p.alive() for p in stack.procs), "no service crashed"


async def test_owning_bridge_killed_while_a_node_is_down(stack: Stack, cluster: Cluster) -> None:
    async with gateway_client(stack).aio as client, client.live.connect(
            model=MODEL, config=CONFIG) as session:
        sid = session.session_id
        assert sid
        baseline = await timed_turn(session, "before")
        bridge = (await kv_value(stack, subjects.KV_SESSION_LEASES, sid)).decode()
        node = owner_node(cluster, bridge)
        cluster.kill(node)
        down = await timed_turn(session, "with a node down")
        # The streams whose leader was on that node elect another (4-9 s on nats-server); a
        # takeover needs the lease bucket writable (see docs/resilience.md, known gaps).
        await until_streams_have_leaders(stack)
        # The bridge's record is written again (a bridge dying while it cannot be written is a
        # known gap: its successor may resend the last control event, docs/resilience.md).
        # Its shadow log may still be retrying (a backoff of up to 1 s): the successor logs
        # what the record does not count as logged (test_bridge_killed_while_its_log_fails).
        await until_record(stack, sid, lambda r: r.get("ctl_sent", 0) >= 2)
        proc = next(p for p in stack.procs if p.name == f"gemini-{bridge}" and p.alive())
        proc.kill()
        index = int(bridge.split("-")[1])
        stack.start_bridge(index, stack.upstream_env, f"{bridge}-r")
        took = await timed_turn(session, "after the bridge died")
        took_spoken = await spoken_turn(session)
        await tokens_count_right(stack)
        cluster.start(node)
        cluster.wait_healthy(node)
        print(f"baseline {baseline:.2f} s; with a node down {down:.2f} s; after the bridge "
              f"died too: {took:.2f} s, spoken {took_spoken:.2f} s")
        assert took < baseline + TURN_BOUND_S + 1.6  # + the takeover (silence 0.6 s, TTL 1 s)
    entries = await shadow_until(stack, sid, lambda es: len(es) >= 6)
    texts = [e.text for e in entries if e.role == "user" and e.kind == "text"]
    assert texts == ["before", "with a node down", "after the bridge died"]


async def stream_leaders(stack: Stack) -> dict[str, str]:
    names = [subjects.SHADOW_STREAM, f"KV_{subjects.KV_SESSION_LEASES}",
             f"KV_{subjects.KV_SESSIONS}"]
    nc = await nats.connect(stack.nats_url.split(","))
    try:
        js = nc.jetstream(timeout=2.0)
        out = {}
        for n in names:
            info = await js.stream_info(n)
            out[n] = info.cluster.leader if info.cluster is not None else ""
        return {k: v or "" for k, v in out.items()}
    finally:
        await nc.close()


async def lead_shadow_alone(stack: Stack, timeout: float = 30.0) -> int:
    """Until the shadow log's leader leads neither the lease nor the record bucket (stepping
    those down); that node's index. Killed, it leaves the log without a leader (seconds) while
    leases and records can be written."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            leaders = await stream_leaders(stack)
            shadow_node = leaders.pop(subjects.SHADOW_STREAM)
            shared = [name for name, node in leaders.items() if node == shadow_node or not node]
            if shadow_node and not shared:
                return int(shadow_node.removeprefix("n"))
            nc = await nats.connect(stack.nats_url.split(","))
            try:
                for name in shared:
                    await nc.request(subjects.stream_leader_stepdown(name), b"", timeout=2.0)
            finally:
                await nc.close()
        assert time.monotonic() < deadline, "could not place the stream leaders apart"
        await asyncio.sleep(0.5)


async def upstream_count(stack: Stack, text: str) -> int:
    """How often the upstream (the emulator, every connection) received `text`."""
    return sum(json.dumps(s["client_contents"]).count(text) for s in await sessions(stack))


async def test_bridge_killed_while_its_log_fails(stack: Stack, cluster: Cluster) -> None:
    """The owning bridge is SIGKILLed after it sent a turn upstream but while the shadow log
    has no leader (its append still retrying): the successor logs the turn, and the upstream
    has it once."""
    said = "said while the log has no leader"
    async with gateway_client(stack).aio as client, client.live.connect(
            model=MODEL, config=CONFIG) as session:
        sid = session.session_id
        assert sid
        await timed_turn(session, "first of three")
        await until_streams_have_leaders(stack)
        node = await lead_shadow_alone(stack)
        bridge = (await kv_value(stack, subjects.KV_SESSION_LEASES, sid)).decode()
        cluster.kill(node)
        await ask(session, said)
        audio = asyncio.Event()
        reader = asyncio.create_task(read_turn(session, 1, audio))
        await asyncio.wait_for(audio.wait(), 10)
        await until_record(stack, sid, lambda r: r.get("ctl_sent", 0) >= 2)
        killed = time.monotonic()
        next(p for p in stack.procs if p.name == f"gemini-{bridge}" and p.alive()).kill()
        record = json.loads(await kv_value(stack, subjects.KV_SESSIONS, sid))
        assert record["ctl_sent"] == 2 and record["ctl_logged"] == 1, record  # in the window
        # Its replacement starts while the log has no leader: it waits for JetStream.
        index = int(bridge.split("-")[1])
        stack.start_bridge(index, stack.upstream_env, f"{bridge}-r")
        assert (await asyncio.wait_for(reader, 15)).turn_complete  # cut by the gateway
        await timed_turn(session, "after the log had a leader again")
        print(f"the log's leader was lost; the bridge killed; next turn answered "
              f"{time.monotonic() - killed:.2f} s after the kill")
        cluster.start(node)
        cluster.wait_healthy(node)
        await until_status([f"http://127.0.0.1:{stack.cfg.bridge_health_port + index}/readyz"],
                           200, timeout=30.0)
    typed = ["first of three", said, "after the log had a leader again"]
    entries = await shadow_until(stack, sid, lambda es: len(
        [e for e in es if e.role == "user"]) >= len(typed))
    assert [e.text for e in entries if e.role == "user" and e.kind == "text"] == typed
    assert [await upstream_count(stack, t) for t in typed] == [1, 1, 1]



async def test_readiness_follows_the_nats_connection(stack: Stack, cluster: Cluster) -> None:
    """Every node gone: gateway and bridges say not ready; back: ready again. What the faults
    above cost is in the metrics (resends, gaps, lost audio, reconnects)."""
    print("reliability metrics:", reliability_metrics(stack))
    urls = [f"{stack.gateway_http()}/readyz"] + [
        f"http://127.0.0.1:{stack.cfg.bridge_health_port + i}/readyz"
        for i in range(stack.cfg.bridges)]
    for i in range(3):
        cluster.kill(i)
    await until_status(urls, 503)
    for i in range(3):
        cluster.start(i)
    for i in range(3):
        cluster.wait_healthy(i)
    await until_status(urls, 200)
    assert reliability_metrics(stack).get("livebus_nats_events_total{event=reconnect}", 0) > 0
