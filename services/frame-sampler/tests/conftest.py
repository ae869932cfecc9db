from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from livebus import procs


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    """A real JetStream nats-server on a free loopback port, for one test."""
    port = procs.free_port()
    server = procs.nats_server(port, tmp_path / "nats", tmp_path / "nats.log").start()
    try:
        procs.wait_tcp(port)
        yield f"nats://127.0.0.1:{port}"
    finally:
        server.stop()
