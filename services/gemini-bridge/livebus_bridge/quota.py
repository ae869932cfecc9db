"""Quotas per credential (the session's user: a token's `livebus.user` or a server key's
identity): tokens per day, conversation minutes per day, sessions at once. Every limit is off at 0
(the default). The bridge enforces them because every client edge goes through it; the state is
the usage records in JetStream KV (livebus/usage.py), so they hold across gateway and bridge
replicas, up to one check interval.

- At open, a new session over any limit is refused (docs/protocol.md: 1008 "quota exceeded: ...").
- Past `warn_ratio` of a daily limit the client gets one warning per limit: a `livebusQuota`
  field beside an empty `serverContent`, which unmodified SDKs read as an empty server message
  (google-genai drops unknown fields; the JS SDK keeps them on the message object:
  tests/compat/test_js_quota.py).
- At a daily limit the session ends with the same code and reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from livebus import closecodes, usage
from livebus.usage import UsageStore
from livebus.v1 import bus_pb2

from .metering import SessionMeter

log = logging.getLogger(__name__)
TOKENS = "tokens per day"
MINUTES = "minutes per day"
SESSIONS = "concurrent sessions"


@dataclass(frozen=True)
class Limits:
    tokens_per_day: int = 0
    minutes_per_day: float = 0.0
    concurrent_sessions: int = 0
    warn_ratio: float = 0.8
    check_interval_s: float = 2.0

    @property
    def enabled(self) -> bool:
        return bool(self.tokens_per_day or self.minutes_per_day or self.concurrent_sessions)


def quota_limits(s: Any) -> Limits:
    """From BridgeSettings."""
    return Limits(s.quota_tokens_per_day, s.quota_minutes_per_day, s.quota_concurrent_sessions,
                  s.quota_warn_ratio, s.quota_check_interval_s)


def exceeded(what: str) -> bus_pb2.Close:
    return bus_pb2.Close(code=closecodes.QUOTA_EXCEEDED, reason=f"quota exceeded: {what}")


def warning(what: str, used: float, limit: float, day: str) -> dict[str, Any]:
    return {"serverContent": {}, "livebusQuota": {
        "warning": f"{what} nearly used", "limit": what, "used": round(used, 3),
        "allowed": limit, "day": day}}


class Quota:
    def __init__(self, limits: Limits, store: UsageStore | None, meter: SessionMeter,
                 send: Callable[[dict[str, Any]], Awaitable[None]],
                 end: Callable[[bus_pb2.Close], Awaitable[None]],
                 clock: Callable[[], float] = time.time) -> None:
        self.limits = limits
        self.store = store
        self.meter = meter
        self.send = send
        self.end = end
        self.clock = clock
        self.warned: set[str] = set()
        self.ended = False

    async def _others(self) -> tuple[int, float, int]:
        """Today's tokens and seconds of the user's other openings, and how many are live."""
        assert self.store is not None
        m = self.meter
        records = [r for r in await self.store.records(m.day, m.user) if r.get("user") == m.user
                   and not (r.get("session") == m.session_id and r.get("epoch") == m.epoch)]
        fresh = self.clock() - 3 * max(m.flush_s, 1.0)
        live = {r.get("session") for r in records if r.get("open")
                and float(r.get("updated") or 0) >= fresh and r.get("session") != m.session_id}
        total = usage.summed(records)
        return int(total["totalTokens"]), float(total["seconds"]), len(live)

    async def admit(self) -> bus_pb2.Close | None:
        """A new session: refused (the Close to answer with) when a limit is reached."""
        if not self.limits.enabled or self.store is None:
            return None
        tokens, seconds, live = await self._others()
        lim = self.limits
        if lim.concurrent_sessions and live >= lim.concurrent_sessions:
            return exceeded(SESSIONS)
        return self._over(tokens, seconds)

    def _over(self, tokens: int, seconds: float) -> bus_pb2.Close | None:
        lim = self.limits
        if lim.tokens_per_day and tokens >= lim.tokens_per_day:
            return exceeded(TOKENS)
        if lim.minutes_per_day and seconds / 60 >= lim.minutes_per_day:
            return exceeded(MINUTES)
        return None

    async def check(self) -> None:
        """Others' usage plus this opening's: warn near a daily limit, end the session at it."""
        if self.ended or not self.limits.enabled or self.store is None:
            return
        tokens, seconds, _ = await self._others()
        m = self.meter
        tokens += usage.total(m.tokens)
        seconds += m.seconds
        close = self._over(tokens, seconds)
        if close is not None:
            self.ended = True
            log.info("session ends: %s", close.reason)
            await self.end(close)
            return
        lim = self.limits
        for what, used, limit in ((TOKENS, tokens, lim.tokens_per_day),
                                  (MINUTES, seconds / 60, lim.minutes_per_day)):
            if limit and used >= lim.warn_ratio * limit and what not in self.warned:
                self.warned.add(what)
                await self.send(warning(what, used, limit, m.day))

    async def run(self) -> None:
        while not self.ended:
            await asyncio.sleep(self.limits.check_interval_s)
            try:
                await self.check()
            except Exception as e:  # KV away: the next check tries again
                log.warning("could not check the quota (%s)", type(e).__name__)
