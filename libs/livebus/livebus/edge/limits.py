"""What a session may cost: token buckets over messages, media chunks, uplink bytes and NATS
publishes, per session and per credential (grant.user, on this gateway replica).

Pure apart from the clock: `charge_*` raise ProtocolError (1008, "rate limit exceeded: ...")
the moment a session or its credential overspends, before its input is parsed or published, so
a flood ends its own session instead of slowing everyone's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from livebus import closecodes

from .settings import EdgeSettings
from .wire import ProtocolError

Clock = Callable[[], float]

# What is counted, and the reason a client sees when it overspends.
MESSAGES = "messages"
CHUNKS = "media chunks"
BYTES = "uplink bytes"
PUBLISHES = "publishes"


class TokenBucket:
    """`rate` per second sustained, up to `burst` at once; a charge above `burst` never fits."""

    __slots__ = ("capacity", "clock", "last", "rate", "tokens")

    def __init__(self, rate: float, burst: float, clock: Clock = time.monotonic) -> None:
        self.rate = rate
        self.capacity = float(burst)
        self.tokens = float(burst)
        self.clock = clock
        self.last = clock()

    def take(self, n: float = 1.0, now: float | None = None) -> bool:
        now = self.clock() if now is None else now
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < n:
            return False
        self.tokens -= n
        return True


@dataclass(frozen=True)
class Budget:
    """Per-second rates and bursts for each thing counted."""

    rates: dict[str, float]
    bursts: dict[str, float]

    def buckets(self, clock: Clock) -> dict[str, TokenBucket]:
        return {k: TokenBucket(self.rates[k], self.bursts[k], clock) for k in self.rates}


def exceeded(what: str, whose: str) -> ProtocolError:
    return ProtocolError(closecodes.RATE_LIMITED, f"rate limit exceeded: {what}{whose}")


@dataclass
class _Shared:
    buckets: dict[str, TokenBucket]
    users: int = 0


@dataclass
class CredentialBudgets:
    """One set of buckets per credential, shared by its sessions while any is open."""

    budget: Budget
    clock: Clock = time.monotonic
    shared: dict[str, _Shared] = field(default_factory=dict)

    def acquire(self, user: str) -> dict[str, TokenBucket]:
        entry = self.shared.get(user)
        if entry is None:
            entry = self.shared[user] = _Shared(self.budget.buckets(self.clock))
        entry.users += 1
        return entry.buckets

    def release(self, user: str) -> None:
        entry = self.shared.get(user)
        if entry is None:
            return
        entry.users -= 1
        if entry.users <= 0:
            del self.shared[user]


class SessionLimits:
    """One session's buckets and its credential's; every charge goes to both."""

    def __init__(self, session: Budget, credentials: CredentialBudgets, user: str,
                 clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self.own = session.buckets(clock)
        self.credentials = credentials
        self.user = user
        self.theirs = credentials.acquire(user)
        self._released = False

    def _charge(self, what: str, n: float, now: float) -> None:
        if n <= 0:
            return
        if not self.own[what].take(n, now):
            raise exceeded(what, "")
        if not self.theirs[what].take(n, now):
            raise exceeded(what, " for this credential")

    def charge_frame(self, nbytes: int) -> None:
        """A client frame as received, before it is parsed."""
        now = self.clock()
        self._charge(MESSAGES, 1, now)
        self._charge(BYTES, nbytes, now)

    def charge_actions(self, chunks: int, publishes: int) -> None:
        """What a parsed frame turns into, before any of it is published."""
        now = self.clock()
        self._charge(CHUNKS, chunks, now)
        self._charge(PUBLISHES, publishes, now)

    def release(self) -> None:
        if not self._released:
            self._released = True
            self.credentials.release(self.user)


def session_budget(s: EdgeSettings) -> Budget:
    return Budget(
        rates={MESSAGES: s.max_messages_per_second, CHUNKS: s.max_chunks_per_second,
               BYTES: s.max_uplink_bytes_per_second, PUBLISHES: s.max_publishes_per_second},
        bursts={MESSAGES: s.burst_messages, CHUNKS: s.burst_chunks,
                BYTES: s.burst_uplink_bytes, PUBLISHES: s.burst_publishes})


def credential_budget(s: EdgeSettings) -> Budget:
    return Budget(
        rates={MESSAGES: s.credential_messages_per_second, CHUNKS: s.credential_chunks_per_second,
               BYTES: s.credential_uplink_bytes_per_second,
               PUBLISHES: s.credential_publishes_per_second},
        bursts={MESSAGES: s.credential_burst_messages, CHUNKS: s.credential_burst_chunks,
                BYTES: s.credential_burst_uplink_bytes,
                PUBLISHES: s.credential_burst_publishes})


_credentials: CredentialBudgets | None = None


def credentials(s: EdgeSettings) -> CredentialBudgets:
    """This process's per-credential buckets (one gateway replica: one registry)."""
    global _credentials
    if _credentials is None:
        _credentials = CredentialBudgets(credential_budget(s))
    return _credentials
