from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from livebus.testing.nats import running_nats


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    """A real JetStream nats-server on a free loopback port, for one test."""
    with running_nats(tmp_path) as url:
        yield url
