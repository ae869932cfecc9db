"""A shaped uplink for the congestion tests: two namespaces joined by one veth pair, the
client's side limited with tbf, the stack (and its upstream tap) in the server namespace, and
TCP relays that keep the page's 127.0.0.1 URLs on both sides of the link."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from livebus_dev import procs
from livebus_dev.devstack import Stack
from livebus_dev.testing import netns
from livebus_dev.testing.netrelay import Relay, entered
from livebus_dev.testing.upstream_tap import Tap, tapped_stack


@dataclass
class Shaped:
    pair: netns.Pair
    stack: Stack
    tap: Tap


@contextmanager
def shaped_stack(tmp: Path, rate: str, webrtc: bool = False) -> Iterator[Shaped]:
    """The calling thread stays in the server namespace until the end: the stack's processes
    and the tap's thread start there, and the test's own calls go there too. Server turn
    detection: every sample goes upstream as it arrives, so the lag measured is the link's
    (local detection holds audio until an onset is sure). `webrtc`: with the edge, gathering
    on the server's test address."""
    with netns.pair(rate=rate) as p, entered(p.server):
        env = {"LIVEBUS_BRIDGE_TURN_DETECTION": "server"}
        if webrtc:
            env["LIVEBUS_WEBRTC_ICE_ADDRESSES"] = p.server.address
        with tapped_stack(tmp, extra_env=env, webrtc_port=procs.free_port() if webrtc else 0) \
                as (stack, tap), ExitStack() as relays:
            ports = [urlsplit(stack.gateway_http()).port] + \
                ([stack.cfg.webrtc_port] if webrtc else [])
            for port in ports:
                assert port is not None
                relays.enter_context(Relay(p.server, (p.server.address, port), p.server,
                                           ("127.0.0.1", port)))
                relays.enter_context(Relay(p.client, ("127.0.0.1", port), p.client,
                                           (p.server.address, port)))
            yield Shaped(p, stack, tap)
