"""Service runtime: event loop, signals, graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable


def run(main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run `main(stop)` on uvloop when available; SIGINT/SIGTERM set `stop`."""

    async def _wrapper() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

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
