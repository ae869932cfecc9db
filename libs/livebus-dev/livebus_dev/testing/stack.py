"""A whole local stack for a test (own NATS on a free port, own state dir) and SDK clients."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from google import genai
from google.genai import types

from livebus import tls
from livebus_dev import procs
from livebus_dev.devstack import DevStackSettings, Stack

MODEL = "models/gemini-live-2.5-flash-preview"


PORT_FIELDS = {  # DevStackSettings port fields and how many replicas each numbers from its base
    "nats_port": 1, "https_port": 3, "http_port": 3, "emulator_port": 1,
    "bridge_health_port": 4, "tools_health_port": 3, "sampler_health_port": 3,
    "gateway_health_port": 3, "webrtc_port": 1, "webrtc_health_port": 1,
}


def free_ports() -> dict[str, int]:
    """Each port field on free loopback ports, cut from one free block: drawn one by one they
    overlapped in 0.7 % of stacks (simulated), and a service found its port taken by a sibling."""
    port = procs.free_port_range(sum(PORT_FIELDS.values()))
    ports = {}
    for name, n in PORT_FIELDS.items():
        ports[name] = port
        port += n
    return ports


def dev_env(cfg: DevStackSettings) -> dict[str, str]:
    """The LIVEBUS_DEV_* variables that make `python -m livebus_dev.devstack` use `cfg`."""
    return {f"LIVEBUS_DEV_{k.upper()}": str(v) for k, v in cfg.model_dump().items()}


def attach(cfg: DevStackSettings) -> Stack:
    """A Stack describing one started elsewhere (`make run`) with `cfg`, for the helpers here."""
    stack = Stack(cfg)
    stack.api_key = (cfg.dir / "api-key").read_text().strip()
    stack.nats_url = cfg.nats_url or f"nats://127.0.0.1:{cfg.nats_port}"
    return stack


@contextmanager
def running_stack(tmp: Path, **overrides: Any) -> Iterator[Stack]:
    """Start NATS, the emulator, bridges and gateways on free ports; stop them all after."""
    env_extra = overrides.pop("extra_env", {})
    # No WebRTC edge unless a test asks for one (webrtc_port=...): it is one more process.
    settings = {"bridges": 1, "emulator_pace": 8.0, **free_ports(), "webrtc_port": 0,
                **overrides}
    cfg = DevStackSettings(dir=tmp / "livebus", **settings)
    stack = Stack(cfg, extra_env=env_extra)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def ssl_context(stack: Stack) -> ssl.SSLContext:
    return tls.client_context(stack.ca_file)


def http_options(base_url: str, ca: ssl.SSLContext,
                 api_version: str = "v1beta") -> types.HttpOptions:
    return types.HttpOptions(base_url=base_url, api_version=api_version,
                             async_client_args={"ssl": ca}, client_args={"verify": ca})


def gateway_client(stack: Stack, api_key: str | None = None, api_version: str = "v1beta",
                   gateway: int = 0) -> genai.Client:
    """The unmodified SDK pointed at the gateway: base URL, CA and a key, nothing else."""
    return genai.Client(api_key=api_key or stack.api_key,
                        http_options=http_options(stack.gateway_https(gateway), ssl_context(stack),
                                                  api_version))


def emulator_client(stack: Stack) -> genai.Client:
    """The same SDK straight at the emulator (the baseline)."""
    assert stack.emulator_url is not None
    return genai.Client(api_key=stack.emulator_key,
                        http_options=http_options(stack.emulator_url, ssl_context(stack)))


async def mint(stack: Stack, body: dict[str, Any] | None = None) -> str:
    """A token minted with the stack's server key (`POST /v1alpha/auth_tokens`): its `name`,
    which a client sends as its API key."""
    async with httpx.AsyncClient(verify=ssl_context(stack)) as c:
        r = await c.post(f"{stack.gateway_https()}/v1alpha/auth_tokens", json=body or {},
                         headers={"x-goog-api-key": stack.api_key})
    r.raise_for_status()
    return str(r.json()["name"])
