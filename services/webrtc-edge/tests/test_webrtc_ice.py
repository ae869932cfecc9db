"""The ICE policy: candidates only on the configured addresses, ports and announced address."""

from __future__ import annotations

import socket

import aiortc.rtcicetransport
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from livebus_webrtc import ice


@pytest.fixture(autouse=True)
def _restore(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aiortc.rtcicetransport, "Connection", aiortc.rtcicetransport.Connection)


async def _candidates() -> list[list[str]]:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        pc.addTransceiver("audio", direction="sendrecv")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
    finally:
        await pc.close()
    return [line.split() for line in sdp.splitlines() if line.startswith("a=candidate:")]


async def test_only_the_policy_address_and_ports_are_gathered() -> None:
    ice.install(ice.IcePolicy(addresses=("127.0.0.1",), port_min=41000, port_max=41009))
    found = await _candidates()
    assert found
    for c in found:
        assert c[4] == "127.0.0.1" and 41000 <= int(c[5]) <= 41009 and c[7] == "host"


async def test_the_announced_address_replaces_the_local_one() -> None:
    ice.install(ice.IcePolicy(addresses=("127.0.0.1",), announced="203.0.113.7"))
    found = await _candidates()
    assert found and all(c[4] == "203.0.113.7" for c in found)


async def test_a_full_port_range_fails_to_gather() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        ice.install(ice.IcePolicy(addresses=("127.0.0.1",), port_min=port, port_max=port))
        with pytest.raises(ice.NoFreePort):
            await _candidates()
