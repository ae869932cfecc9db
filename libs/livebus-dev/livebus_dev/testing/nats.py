"""A real JetStream nats-server for a test: free loopback port, its own store, stopped after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from livebus_dev import procs


@contextmanager
def running_nats(directory: Path) -> Iterator[str]:
    """Yields the server's URL; the server stores in `directory` and is stopped by PID after."""
    port = procs.free_port()
    server = procs.nats_server(port, directory / "store", directory / "nats.log").start()
    try:
        procs.wait_tcp(port)
        yield f"nats://127.0.0.1:{port}"
    finally:
        server.stop()
