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


async def cancel_and_wait(*tasks: asyncio.Task[object] | None) -> None:
    real = [t for t in tasks if t is not None]
    for t in real:
        t.cancel()
    for t in real:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await t
