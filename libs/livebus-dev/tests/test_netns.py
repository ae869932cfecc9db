"""livebus_dev.testing.netns: namespaces with test-only addresses, always deleted, shapeable."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from livebus_dev.testing import netns

# A TCP sink on the server address: prints "ready", then the bytes it received when the peer closes.
SINK = """
import socket, sys
s = socket.socket(); s.bind((sys.argv[1], 7000)); s.listen(); print("ready", flush=True)
c, _ = s.accept(); n = 0
while (b := c.recv(65536)): n += len(b)
print(n, flush=True)
"""
SEND = """
import socket, sys
c = socket.create_connection((sys.argv[1], 7000), timeout=20)
c.sendall(b"x" * int(sys.argv[2])); c.close()
"""


def _namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in out.stdout.splitlines() if line.strip()}


def _transfer(server: netns.Namespace, client: netns.Namespace, size: int) -> float:
    """Seconds to send `size` bytes from `client` to a sink on `server.address`."""
    sink = server.popen([sys.executable, "-c", SINK, server.address],
                        stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None
    assert sink.stdout.readline().strip() == "ready"
    start = time.monotonic()
    client.run([sys.executable, "-c", SEND, server.address, str(size)])
    received = sink.stdout.readline().strip()
    elapsed = time.monotonic() - start
    assert received == str(size)
    return elapsed


def test_one_has_both_test_addresses_and_nothing_else() -> None:
    with netns.one() as ns:
        addrs = ns.run(["ip", "-o", "-4", "addr", "show"])
        found = {line.split()[3] for line in addrs.splitlines()}
        assert found == {"127.0.0.1/8", "10.77.0.1/24", "10.77.0.2/24"}
        assert ns.prefix() == ["ip", "netns", "exec", ns.name]
        assert (ns.address, ns.peer) == ("10.77.0.1", "10.77.0.2")
        _transfer(ns, ns, 1000)
    assert ns.name not in _namespaces()


def test_one_is_deleted_and_its_processes_stopped_on_failure() -> None:
    with pytest.raises(RuntimeError, match="boom"), netns.one() as ns:
        sleeper = ns.popen(["sleep", "60"])
        raise RuntimeError("boom")
    assert sleeper.poll() is not None
    assert ns.name not in _namespaces()


def test_names_are_unique_while_both_exist() -> None:
    with netns.one() as a, netns.one() as b:
        assert a.name != b.name
        assert {a.name, b.name} <= _namespaces()


def test_this_machines_addresses_are_unreachable_from_inside() -> None:
    with netns.one() as ns:
        routes = ns.run(["ip", "-4", "route", "show"])
        assert "default" not in routes
        assert all(line.split()[0] == "10.77.0.0/24" for line in routes.splitlines())


def test_pair_joins_client_and_server_through_one_link() -> None:
    with netns.pair() as p:
        assert (p.client.address, p.server.address) == ("10.77.0.2", "10.77.0.1")
        assert "c0" in p.client.run(["ip", "-o", "link", "show"])
        assert "s0" in p.server.run(["ip", "-o", "link", "show"])
        assert _transfer(p.server, p.client, 256_000) < 1.0
    assert not {p.client.name, p.server.name} & _namespaces()


def test_pair_rate_shapes_the_client_uplink() -> None:
    with netns.pair(rate="1mbit") as p:
        assert "tbf" in p.client.run(["tc", "qdisc", "show", "dev", "c0"])
        # 256 kB = 2 Mbit: about 2 s at 1 Mbit/s, where the unshaped link takes milliseconds.
        assert _transfer(p.server, p.client, 256_000) > 1.5


def test_not_root_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netns.os, "geteuid", lambda: 1000)
    with pytest.raises(pytest.skip.Exception, match="need root"), netns.one():
        pass


def test_missing_ip_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netns.os, "geteuid", lambda: 0)
    monkeypatch.setattr(netns.shutil, "which", lambda tool: None)
    with pytest.raises(pytest.skip.Exception, match="`ip`"), netns.one():
        pass
