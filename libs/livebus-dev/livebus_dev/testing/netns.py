"""Network namespaces for WebRTC tests: ICE must only ever see test-only addresses.

ICE gathers every interface's address (aioice skips 127.0.0.1), and this machine's own addresses
must never receive a packet, so the edge, the browser and their clients run inside a namespace
these helpers create: `one()` (a veth pair inside one namespace) or `pair()` (client and server
namespaces joined by one veth pair, the client's uplink optionally shaped with tbf). Each is
deleted on exit, also on failure; the processes started through `popen` are stopped first.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

SERVER_ADDRESS = "10.77.0.1"
CLIENT_ADDRESS = "10.77.0.2"
_PREFIX_LEN = 24
_RUN = secrets.token_hex(2)
STOP_WAIT_S = 30.0  # a supervisor (make run) stops its children before it exits
_counter = itertools.count()


@dataclass
class Namespace:
    """One network namespace: `address` is its own test address, `peer` the other end's."""

    name: str
    address: str
    peer: str
    _procs: list[subprocess.Popen[Any]] = field(default_factory=list, repr=False)

    def prefix(self) -> list[str]:
        """The argv prefix that runs a command inside this namespace."""
        return ["ip", "netns", "exec", self.name]

    def popen(self, args: Sequence[str], **kw: Any) -> subprocess.Popen[Any]:
        """Start `args` inside the namespace; stopped (by PID) when the namespace is deleted."""
        proc: subprocess.Popen[Any] = subprocess.Popen([*self.prefix(), *args], **kw)
        self._procs.append(proc)
        return proc

    def run(self, args: Sequence[str], timeout: float = 30.0) -> str:
        """Run `args` inside the namespace to completion; its stdout (raises on failure)."""
        return _ip_run([*self.prefix(), *args], timeout)

    def _stop_procs(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()


@dataclass
class Pair:
    """Two namespaces joined by one veth pair: `client` (c0) and `server` (s0)."""

    client: Namespace
    server: Namespace


def _ip_run(argv: Sequence[str], timeout: float = 30.0) -> str:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def _require(*tools: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root (ip netns add); CI runs as root")
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"`{tool}` (iproute2) is not installed; it makes the test's namespaces")


def unique_name(role: str = "ns") -> str:
    """A namespace name no other test (of this run or a concurrent one) uses."""
    return f"livebus-{os.getpid()}-{_RUN}-{next(_counter)}-{role}"


@contextmanager
def _namespace(role: str, address: str, peer: str) -> Iterator[Namespace]:
    ns = Namespace(unique_name(role), address, peer)
    _ip_run(["ip", "netns", "add", ns.name])
    try:
        ns.run(["ip", "link", "set", "lo", "up"])
        yield ns
    finally:
        ns._stop_procs()
        subprocess.run(["ip", "netns", "del", ns.name], capture_output=True, timeout=30)


def _address(ns: Namespace, dev: str, address: str) -> None:
    ns.run(["ip", "addr", "add", f"{address}/{_PREFIX_LEN}", "dev", dev])
    ns.run(["ip", "link", "set", dev, "up"])


@contextmanager
def one() -> Iterator[Namespace]:
    """A namespace with lo up and a veth pair v0 (10.77.0.1) / v1 (10.77.0.2) inside it.

    Traffic between the two addresses stays inside the namespace (through its lo): no qdisc
    applies, use `pair()` to shape a link.
    """
    _require("ip")
    with _namespace("rtc", SERVER_ADDRESS, CLIENT_ADDRESS) as ns:
        ns.run(["ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1"])
        _address(ns, "v0", SERVER_ADDRESS)
        _address(ns, "v1", CLIENT_ADDRESS)
        yield ns


@contextmanager
def pair(rate: str | None = None) -> Iterator[Pair]:
    """Client (c0, 10.77.0.2) and server (s0, 10.77.0.1) namespaces joined by one veth pair.

    `rate` (a tc rate such as "1mbit") shapes the client's uplink with tbf on c0.
    """
    _require("ip", *(("tc",) if rate is not None else ()))
    with ExitStack() as stack:
        client = stack.enter_context(_namespace("client", CLIENT_ADDRESS, SERVER_ADDRESS))
        server = stack.enter_context(_namespace("server", SERVER_ADDRESS, CLIENT_ADDRESS))
        client.run(["ip", "link", "add", "c0", "type", "veth", "peer", "name", "s0"])
        client.run(["ip", "link", "set", "s0", "netns", server.name])
        _address(client, "c0", CLIENT_ADDRESS)
        _address(server, "s0", SERVER_ADDRESS)
        if rate is not None:
            client.run(["tc", "qdisc", "add", "dev", "c0", "root", "tbf", "rate", rate,
                        "burst", "32kbit", "latency", "400ms"])
        yield Pair(client, server)
