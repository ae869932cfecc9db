"""Reading what the emulator received, through its control API."""

from __future__ import annotations

from typing import Any

import httpx

from livebus import tls
from livebus_dev.devstack import Stack


def control(stack: Stack) -> httpx.AsyncClient:
    assert stack.emulator_url is not None
    return httpx.AsyncClient(base_url=stack.emulator_url,
                             verify=tls.client_context(stack.ca_file), timeout=10)


async def sessions(stack: Stack) -> list[dict[str, Any]]:
    async with control(stack) as c:
        r = await c.get("/control/sessions")
        r.raise_for_status()
        data = r.json()
        return list(data["sessions"] if isinstance(data, dict) else data)
