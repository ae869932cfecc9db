"""The local detector's `voiceActivity` messages, in the order the upstream's detector sends them.

A start that interrupts a reply is followed by the upstream's `interrupted` before anything the
detector says next. Here the interruption makes a round trip upstream while the detector goes
on: a client that sends audio faster than it plays (a recording) lets it reach the end of the
speech first. So what it reports after such a start waits for the reply's end (`interrupted` or
`turnComplete`), at most `hold_s`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

Message = dict[str, Any]


class ActivityReports:
    def __init__(self, hold_s: float = 2.0) -> None:
        self.hold_s = hold_s
        self.held: list[Message] = []
        self.until = 0.0  # monotonic end of the hold; 0: not holding

    def add(self, start: bool, message: Message, interrupts: bool, now: float) -> list[Message]:
        """What to send now. `interrupts`: a reply is under way and a start cuts it."""
        out = self.release(now) if self.until and now >= self.until else []
        if self.until:
            self.held.append(message)
            return out
        if start and interrupts:
            self.until = now + self.hold_s
        return [*out, message]

    def release(self, now: float | None = None) -> list[Message]:
        """Everything held, once the reply ended (or, given `now`, once the hold is over)."""
        if now is not None and (not self.until or now < self.until):
            return []
        out, self.held, self.until = self.held, [], 0.0
        return out


class ReportRelay:
    """ActivityReports with its bound kept by a timer, sent through `send` (the downlink's
    publisher) in order with every other event."""

    def __init__(self, send: Callable[[Message], Awaitable[None]],
                 reports: ActivityReports | None = None) -> None:
        self.send = send
        self.reports = reports or ActivityReports()
        self._timer: asyncio.Task[None] | None = None

    async def add(self, pairs: list[tuple[bool, Message]], interrupts: Callable[[], bool]) -> None:
        """`interrupts` is asked only when there is something to report (not per chunk)."""
        for start, message in pairs:
            holding = self.reports.until
            for out in self.reports.add(start, message, interrupts(), time.monotonic()):
                await self.send(out)
            if self.reports.until and not holding:
                self.close()  # an earlier hold's timer, if its reply ended first
                self._timer = asyncio.create_task(self.reply_over(after_s=self.reports.hold_s))

    async def reply_over(self, after_s: float = 0.0) -> None:
        """Once the reply ended (the downlink relayed its end), or `after_s` from now."""
        if after_s:
            await asyncio.sleep(after_s)
        for message in self.reports.release(time.monotonic() if after_s else None):
            await self.send(message)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
