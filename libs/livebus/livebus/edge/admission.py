"""How many sessions this edge replica holds, in all and per credential (server key, token user).

A slot is taken before a session opens and given back when it ends, however it ends: `slot` is a
context manager, so the count is exact under churn and failures.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from livebus import closecodes

from .wire import ProtocolError

AT_CAPACITY = "gateway at capacity"
TOO_MANY = "too many sessions for this credential"


class Admission:
    def __init__(self, max_sessions: int, max_per_user: int) -> None:
        self.max_sessions = max_sessions
        self.max_per_user = max_per_user
        self.total = 0
        self.per_user: Counter[str] = Counter()

    def full(self) -> bool:
        return self.total >= self.max_sessions

    def acquire(self, who: str) -> None:
        """Takes a slot for `who`, or raises ProtocolError(1013) saying which limit was hit."""
        if self.full():
            raise ProtocolError(closecodes.TRY_AGAIN, AT_CAPACITY)
        if self.per_user[who] >= self.max_per_user:
            raise ProtocolError(closecodes.TRY_AGAIN, TOO_MANY)
        self.total += 1
        self.per_user[who] += 1

    def release(self, who: str) -> None:
        self.total -= 1
        self.per_user[who] -= 1
        if self.per_user[who] <= 0:
            del self.per_user[who]

    @contextmanager
    def slot(self, who: str) -> Iterator[None]:
        self.acquire(who)
        try:
            yield
        finally:
            self.release(who)
