"""The local detector's `voiceActivity` messages, in the order the upstream's detector sends them.

A start that interrupts a reply is followed by the upstream's `interrupted` before anything the
detector says next. Here the interruption makes a round trip upstream while the detector goes
on: a client that sends audio faster than it plays (a recording) lets it reach the end of the
speech first. So what it reports after such a start waits for the reply's end (`interrupted` or
`turnComplete`), at most `hold_s`.
"""

from __future__ import annotations

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
