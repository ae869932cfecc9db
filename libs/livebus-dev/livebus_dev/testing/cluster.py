"""A real 3-node JetStream cluster on loopback for a test (the same nats-server binary).

Each node has its own client, route and monitoring port and its own store; nodes can be killed
and restarted one at a time (as a rolling upgrade does), keeping their store and ports.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from livebus_dev import procs
from livebus_dev.procs import Proc


@dataclass
class Node:
    name: str
    port: int          # clients
    route_port: int    # cluster routes
    http_port: int     # monitoring: /healthz, /connz
    conf: Path
    log: Path
    proc: Proc | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    nodes: list[Node] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Every node, comma-separated (as services take it)."""
        return ",".join(n.url for n in self.nodes)

    def start(self, i: int) -> None:
        node = self.nodes[i]
        argv = [procs.find_nats_server(), "-c", str(node.conf)]
        node.proc = Proc(f"nats-{node.name}", argv, procs.child_env({}), node.log).start()

    def kill(self, i: int) -> None:
        """SIGKILL: the node vanishes (no lame duck), as a crash or a lost machine."""
        proc = self.nodes[i].proc
        if proc is not None:
            proc.kill()

    def stop(self) -> None:
        for node in self.nodes:
            if node.proc is not None:
                node.proc.stop()

    def alive(self, i: int) -> bool:
        proc = self.nodes[i].proc
        return proc is not None and proc.alive()

    def wait_healthy(self, i: int, timeout: float = 30.0) -> None:
        """Until the node's JetStream is current with the cluster (its /healthz says ok)."""
        node = self.nodes[i]
        procs.wait_http_ok(f"http://127.0.0.1:{node.http_port}/healthz", timeout, node.proc)

    def meta_leader(self, i: int) -> str:
        """The JetStream meta leader node i knows of ("" while none is elected)."""
        url = f"http://127.0.0.1:{self.nodes[i].http_port}/jsz"
        with urllib.request.urlopen(url, timeout=2) as r:
            data = json.load(r)
        return str((data.get("meta_cluster") or {}).get("leader") or "")

    def wait_meta_leader(self, timeout: float = 30.0) -> None:
        """Until every live node agrees on a meta leader (streams can be created)."""
        deadline = time.monotonic() + timeout
        while True:
            live = [i for i in range(len(self.nodes)) if self.alive(i)]
            leaders = {self.meta_leader(i) for i in live}
            if len(leaders) == 1 and "" not in leaders:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"no JetStream meta leader after {timeout}s: {leaders}")
            time.sleep(0.1)

    def connections(self, i: int) -> list[str]:
        """The names of the clients connected to node i now."""
        url = f"http://127.0.0.1:{self.nodes[i].http_port}/connz?limit=1024"
        with urllib.request.urlopen(url, timeout=2) as r:
            data = json.load(r)
        return [str(c.get("name", "")) for c in data.get("connections") or []]

    def node_of(self, connection_prefix: str) -> int:
        """The node a client whose connection name starts with this is connected to."""
        deadline = time.monotonic() + 10
        while True:
            for i in range(len(self.nodes)):
                if self.alive(i) and any(n.startswith(connection_prefix)
                                         for n in self.connections(i)):
                    return i
            if time.monotonic() > deadline:
                raise LookupError(f"no node has a connection {connection_prefix}*")
            time.sleep(0.05)


def _conf(node: Node, store: Path, peers: list[Node]) -> str:
    routes = ", ".join(f"nats-route://127.0.0.1:{p.route_port}" for p in peers)
    return (
        f"server_name: {node.name}\n"
        f"listen: 127.0.0.1:{node.port}\n"
        f"http: 127.0.0.1:{node.http_port}\n"
        "max_payload: 8MB\n"
        f"jetstream {{ store_dir: \"{store}\" }}\n"
        f"cluster {{ name: livebus-test, listen: 127.0.0.1:{node.route_port}, "
        f"routes: [{routes}] }}\n"
    )


@contextmanager
def running_cluster(directory: Path, size: int = 3) -> Iterator[Cluster]:
    """Start `size` clustered nodes and wait until JetStream is up on all; stop them after."""
    base = procs.free_port_range(3 * size)
    cluster = Cluster()
    for i in range(size):
        d = directory / f"n{i}"
        d.mkdir(parents=True, exist_ok=True)
        cluster.nodes.append(Node(f"n{i}", base + i, base + size + i, base + 2 * size + i,
                                  d / "nats.conf", d / "nats.log"))
    for i, node in enumerate(cluster.nodes):
        peers = [p for p in cluster.nodes if p is not node]
        node.conf.write_text(_conf(node, directory / f"n{i}" / "store", peers))
    try:
        for i in range(size):
            cluster.start(i)
        for i in range(size):
            cluster.wait_healthy(i)
        cluster.wait_meta_leader()
        yield cluster
    finally:
        cluster.stop()
