"""A draining bridge is not ready: Kubernetes stops routing to it while its sessions finish."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
from google.genai import types

from livebus_dev.testing.stack import MODEL, gateway_client, running_stack


async def test_draining_bridge_fails_readiness(tmp_path: Path) -> None:
    with running_stack(tmp_path, bridges=1,
                       extra_env={"LIVEBUS_BRIDGE_DRAIN_DEADLINE_S": "5"}) as stack:
        ready = f"http://{stack.cfg.host}:{stack.cfg.bridge_health_port}/readyz"
        bridge = next(p for p in stack.procs if p.name == "gemini-bridge-0")
        config = types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO])
        async with httpx.AsyncClient(timeout=5) as http, gateway_client(stack).aio as c, \
                c.live.connect(model=MODEL, config=config):
            assert (await http.get(ready)).status_code == 200
            bridge.signal(signal.SIGTERM)  # a session is open: the bridge drains
            statuses = []
            for _ in range(200):
                r = await http.get(ready)
                statuses.append(r.status_code)
                if r.status_code == 503:
                    assert r.json() == {"ready": False, "reason": "draining"}
                    break
                await asyncio.sleep(0.01)
            assert statuses[-1] == 503, statuses
            assert (await http.get(ready.replace("readyz", "livez"))).status_code == 200
