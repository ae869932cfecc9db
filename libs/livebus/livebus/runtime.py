"""Service runtime: event loop, signals, graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import os
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path


def run(main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run `main(stop)` on uvloop when available; SIGINT/SIGTERM set `stop`.

    What the imports made (~100k objects in a bridge or gateway) is frozen first: a full
    collection scanned it every time, 30-150 ms during which none of the process's sessions
    moved a chunk; frozen, it is never scanned again."""

    async def _wrapper() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    gc.collect()
    gc.freeze()
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is an optional speed-up
        asyncio.run(_wrapper())
    else:
        uvloop.run(_wrapper())


async def cancel_and_wait(*tasks: asyncio.Task[object] | None, grace: float = 5.0) -> None:
    """Cancel the tasks and wait until they end.

    A task still running `grace` seconds after its cancellation is cancelled again: on Python
    3.11 `asyncio.wait_for`, inside every nats-py request, drops a cancellation that arrives
    together with its result (gh-86296), and a loop around such a request would run on for
    ever. The grace leaves cleanup in `finally` blocks time to finish.
    """
    real = [t for t in tasks if t is not None]
    pending = real
    while pending:
        for t in pending:
            t.cancel()
        await asyncio.wait(pending, timeout=grace)
        pending = [t for t in pending if not t.done()]
    for t in real:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await t


def cpus(cgroup: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """The CPUs this process may use: its affinity, capped by a cgroup v2 CPU quota (a
    container's CPU limit). `os.cpu_count()` is the node's count: 64 on a large node, for a
    container limited to one CPU."""
    n = len(os.sched_getaffinity(0))
    try:
        quota, period = cgroup.read_text().split()[:2]
        if quota != "max":
            n = min(n, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 quota readable: the affinity alone
    return n


JETSTREAM_SETUP_WAIT_S = 30.0  # a stream electing a leader, a cluster still starting


async def retry_setup(setup: Callable[[], Awaitable[None]], what: str,
                      wait_s: float = JETSTREAM_SETUP_WAIT_S, every_s: float = 0.5) -> None:
    """Run `setup` until it succeeds, for up to `wait_s` (then its error is raised): a service
    that starts while JetStream does not answer yet waits instead of exiting."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            await setup()
            return
        except Exception as e:
            if time.monotonic() > deadline:
                raise
            logging.getLogger(__name__).warning("%s not ready (%s); trying again", what,
                                                type(e).__name__)
            await asyncio.sleep(every_s)
