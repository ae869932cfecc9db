from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import pytest
from nats.aio.client import Client as NATS

from livebus_tools import ResourceEnv, resource
from livebus_tools.context import Resources
from livebus_tools.settings import ToolsSettings

EVENTS: list[str] = []


@resource
async def counter(env: ResourceEnv) -> AsyncIterator[int]:
    EVENTS.append("open")
    yield env.settings.max_notes
    EVENTS.append("close")


@resource
async def never_opened(env: ResourceEnv) -> AsyncIterator[int]:
    yield 0


async def test_resources_open_once_and_close() -> None:
    EVENTS.clear()
    res = Resources()
    env = ResourceEnv(cast(NATS, None), ToolsSettings(max_notes=7))
    await res.open([counter, counter], env)
    await res.open([counter], env)
    assert res.get(counter) == 7 and EVENTS == ["open"]
    with pytest.raises(LookupError):
        res.get(never_opened)
    await res.close()
    assert EVENTS == ["open", "close"]
