"""Log lines that hostile or buggy input could repeat per message, at most once per interval."""

from __future__ import annotations

import time

MAX_KEYS = 1024  # kinds are few (reasons, tool names); a flood of new keys must not grow this


class LogThrottle:
    def __init__(self, interval_s: float = 60.0) -> None:
        self.interval_s = interval_s
        self._next: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def allow(self, key: str, now: float | None = None) -> int | None:
        """The number of lines suppressed since the last one if this one may be logged,
        else None (and it is counted)."""
        now = time.monotonic() if now is None else now
        if now < self._next.get(key, float("-inf")):
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return None
        if len(self._next) >= MAX_KEYS and key not in self._next:
            self._next.clear()
            self._suppressed.clear()
        self._next[key] = now + self.interval_s
        return self._suppressed.pop(key, 0)
