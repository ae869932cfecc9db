"""Tools used by the tests (also loaded by real processes via LIVEBUS_TOOLS_MODULES)."""

from __future__ import annotations

import asyncio
import time
from typing import Literal

from livebus_tools import ToolContext, tool

RUNS: dict[str, int] = {}          # tool name -> times its handler started
CANCELLED_SEEN: list[str] = []     # call ids whose handler observed CancelledError


def _ran(name: str) -> None:
    RUNS[name] = RUNS.get(name, 0) + 1


@tool(timeout=5.0)
async def slow_echo(ctx: ToolContext, text: str, delay_s: float = 0.0) -> dict[str, str]:
    """Echo the text back after a delay.

    Args:
        text: What to echo.
        delay_s: Seconds to wait first.
    """
    _ran("slow_echo")
    await asyncio.sleep(delay_s)
    return {"text": text, "user": ctx.user}


@tool
def strict(count: int, mode: Literal["a", "b"]) -> int:
    """Count something in a mode.

    Args:
        count: How many.
        mode: Which mode.
    """
    _ran("strict")
    return count


@tool
async def boom() -> None:
    """Always fails."""
    _ran("boom")
    raise RuntimeError("secret internal detail")


@tool(timeout=0.3)
async def hang(ctx: ToolContext) -> None:
    """Never finishes on its own."""
    _ran("hang")
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        CANCELLED_SEEN.append(ctx.call_id)
        raise


@tool(timeout=0.2)
def stubborn() -> str:
    """A sync handler that cannot be cancelled and overruns its deadline."""
    time.sleep(0.8)
    return "too late"


@tool(timeout=10.0)
async def wait_for_cancel(ctx: ToolContext) -> str:
    """Runs until cancelled."""
    _ran("wait_for_cancel")
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        CANCELLED_SEEN.append(ctx.call_id)
        raise
    return "not cancelled"


@tool(timeout=5.0)
async def not_json() -> object:
    """Returns something that is not JSON."""
    return object()
