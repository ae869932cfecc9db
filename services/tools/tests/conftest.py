from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from livebus_dev.testing.nats import running_nats
from livebus_tools.registry import Registry
from livebus_tools.service import ToolsService
from livebus_tools.settings import ToolsSettings

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # toolsamples, the test tools

StartService = Callable[..., Awaitable[ToolsService]]


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real JetStream nats-server on a free loopback port, for one test module."""
    with running_nats(tmp_path_factory.mktemp("nats")) as url:
        yield url


@pytest.fixture
async def start_service(nats_url: str) -> AsyncIterator[StartService]:
    """Start in-process replicas: `await start_service(registry, instance_id="a", **settings)`."""
    started: list[ToolsService] = []

    async def start(registry: Registry, **overrides: Any) -> ToolsService:
        settings = ToolsSettings(nats_url=nats_url, **overrides)
        service = ToolsService(settings, registry)
        await service.start()
        started.append(service)
        return service

    yield start
    for s in reversed(started):
        await s.stop()
