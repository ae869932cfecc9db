from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from livebus import bus, subjects
from livebus_dev.testing.nats import running_nats

from .streams import Collector


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    """A real JetStream nats-server on a free loopback port, for one test."""
    with running_nats(tmp_path) as url:
        yield url


@pytest.fixture
async def collector(nats_url: str) -> AsyncIterator[Collector]:
    """Every sampled frame the samplers publish, by session, with arrival times."""
    nc = await bus.connect(nats_url, "test-collector")
    c = Collector()
    await nc.subscribe(subjects.video_sampled("*"), cb=c.on_msg)
    await nc.flush()
    try:
        yield c
    finally:
        await nc.close()
