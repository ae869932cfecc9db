"""NATS connections with the options every service wants."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any

from nats.aio.client import Client as NATS
from prometheus_client import Counter

log = logging.getLogger(__name__)

NATS_EVENTS = Counter(
    "livebus_nats_events_total",
    "NATS connection events (disconnect, reconnect, error, slow_consumer)",
    ["connection", "event"],
)


class SdkChanged(RuntimeError):
    """The installed nats-py no longer has what `Client` relies on."""


class Client(NATS):
    """nats-py's client, writing what was published one loop turn later than it would.

    nats-py wakes its flusher on every publish, and the flusher writes what is pending at its
    next turn: below some tens of sessions that is one socket write, one wakeup of the server
    and one of each subscriber per audio chunk, each on a core the other processes share. One
    more turn lets the publishes of sessions whose input arrived in consecutive iterations go
    out in one write. On the capacity bench at 37 sessions, without it: 1.04x the CPU, 1.13x
    the gateway's writes, a higher p99 (docs/benchmarks.md). Only the flusher is replaced; it
    is nats-py 2.16's own but for that turn.
    """

    async def _flusher(self) -> None:
        queue = self._flush_queue
        assert queue is not None and self._transport is not None
        while self.is_connected and not self.is_connecting:
            waiting = [await queue.get()]
            try:
                await asyncio.sleep(0)
                while not queue.empty():
                    waiting.append(queue.get_nowait())
                if self._pending_data_size > 0:
                    self._transport.writelines(self._pending[:])
                    self._pending = []
                    self._pending_data_size = 0
                    await self._transport.drain()  # type: ignore[no-untyped-call]
            except OSError as e:
                await self._error_cb(e)
                await self._process_op_err(e)
                break
            except (asyncio.CancelledError, RuntimeError, AttributeError):
                break  # RuntimeError: the loop is closing
            finally:
                for future in waiting:
                    if not future.done():
                        future.set_result(None)


def check() -> None:
    """Raise SdkChanged unless nats-py's client keeps what `Client._flusher` uses."""
    if not inspect.iscoroutinefunction(getattr(NATS, "_flusher", None)):
        raise SdkChanged("nats.aio.client.Client._flusher changed")
    probe = NATS()
    for name in ("_flush_queue", "_pending", "_pending_data_size", "_transport", "_error_cb"):
        if not hasattr(probe, name):
            raise SdkChanged(f"nats.aio.client.Client no longer has {name}")
    for name in ("_process_op_err", "is_connected", "is_connecting"):
        if not hasattr(NATS, name):
            raise SdkChanged(f"nats.aio.client.Client no longer has {name}")


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
    check()
    nc = Client()
    await nc.connect(**opts)
    return nc
