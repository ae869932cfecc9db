"""Which addresses and ports ICE uses: aiortc has no setting for either, and by default gathers
every interface's address (this machine's own included) on any port.

`install(policy)` makes every peer connection of this process gather host candidates only on
`policy.addresses` (empty: aioice's every-interface list), bind their UDP sockets within the
port range, and announce `policy.announced` in place of the local address (the public address
of a pod behind 1:1 NAT). The edge is a server with a known address, so it gathers host
candidates only: no STUN (aiortc would ask Google's), no TURN of its own.
"""

from __future__ import annotations

import asyncio
import random
import socket
from dataclasses import dataclass, field

import aiortc.rtcicetransport
from aioice import Candidate, Connection
from aioice.candidate import candidate_foundation, candidate_priority
from aioice.ice import StunProtocol
from aioice.turn import UDP_SOCKET_BUFFER_SIZE


class NoFreePort(OSError):
    """Every UDP port of the range is taken on an address."""


@dataclass(frozen=True)
class IcePolicy:
    addresses: tuple[str, ...] = ()
    announced: str = ""
    port_min: int = 0
    port_max: int = 0
    _rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def ports(self) -> list[int]:
        """The ports to try, in an order of their own (0: any ephemeral port)."""
        if not self.port_min:
            return [0]
        span = list(range(self.port_min, self.port_max + 1))
        self._rng.shuffle(span)
        return span


async def bind(loop: asyncio.AbstractEventLoop, connection: Connection, address: str,
               policy: IcePolicy) -> StunProtocol:
    for port in policy.ports():
        try:
            transport, protocol = await loop.create_datagram_endpoint(
                lambda: StunProtocol(connection), local_addr=(address, port))
        except OSError:
            continue
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_SOCKET_BUFFER_SIZE)
        return protocol
    raise NoFreePort(f"no free UDP port in {policy.port_min}-{policy.port_max} on {address}")


class PolicyConnection(Connection):
    """aioice's Connection with host candidates from the installed policy."""

    policy = IcePolicy()

    async def get_component_candidates(self, component: int, addresses: list[str],
                                       timeout: int = 5) -> list[Candidate]:
        loop = asyncio.get_running_loop()
        candidates = []
        for address in self.policy.addresses or addresses:
            protocol = await bind(loop, self, address, self.policy)
            local = protocol.transport.get_extra_info("sockname")
            host = self.policy.announced or local[0]
            protocol.local_candidate = Candidate(
                foundation=candidate_foundation("host", "udp", host), component=component,
                transport="udp", priority=candidate_priority(component, "host"), host=host,
                port=local[1], type="host")
            self._protocols.append(protocol)
            candidates.append(protocol.local_candidate)
        return candidates


def install(policy: IcePolicy) -> None:
    """From now on, every RTCPeerConnection of this process gathers by `policy`."""
    PolicyConnection.policy = policy
    aiortc.rtcicetransport.Connection = PolicyConnection  # type: ignore[attr-defined]
