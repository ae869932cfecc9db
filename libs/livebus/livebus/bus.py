"""NATS connections with the options every service wants."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import nats
from nats.aio.client import Client as NATS
from prometheus_client import Counter

log = logging.getLogger(__name__)

NATS_EVENTS = Counter(
    "livebus_nats_events_total",
    "NATS connection events (disconnect, reconnect, error, slow_consumer)",
    ["connection", "event"],
)


def servers(urls: str | list[str]) -> list[str]:
    """Every node of the cluster: a comma-separated `..._NATS_URL` or a list."""
    items = urls.split(",") if isinstance(urls, str) else urls
    found = [u.strip() for u in items if u.strip()]
    if not found:
        raise ValueError("no NATS URL given")
    return found


async def connect(url: str | list[str], name: str,
                  on_reconnect: Callable[[], None] | None = None, **kwargs: Any) -> NATS:
    """Connect to any of the nodes, with unlimited reconnects (to any of them), so neither a
    NATS restart nor the loss of a cluster node takes a service down."""

    async def disconnected() -> None:
        NATS_EVENTS.labels(name, "disconnect").inc()
        log.warning("nats %s disconnected", name)

    async def reconnected() -> None:
        NATS_EVENTS.labels(name, "reconnect").inc()
        log.info("nats %s reconnected", name)
        if on_reconnect is not None:
            on_reconnect()

    async def error(e: Exception) -> None:
        kind = "slow_consumer" if type(e).__name__ == "SlowConsumerError" else "error"
        NATS_EVENTS.labels(name, kind).inc()
        log.warning("nats %s %s: %s", name, kind, e)

    for event in ("disconnect", "reconnect", "error", "slow_consumer"):
        NATS_EVENTS.labels(name, event)  # 0 until it happens: dashboards see the series
    opts: dict[str, Any] = {
        "servers": servers(url),
        "name": name,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.25,
        "connect_timeout": 2,
        "disconnected_cb": disconnected,
        "reconnected_cb": reconnected,
        "error_cb": error,
        "pending_size": 8 * 1024 * 1024,
    }
    opts.update(kwargs)
    return await nats.connect(**opts)
