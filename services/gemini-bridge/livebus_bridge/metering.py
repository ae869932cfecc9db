"""One session opening's usage: the upstream's usageMetadata by direction and modality, counted
in Prometheus (no per-session or per-user label) and written to JetStream KV as this opening's
totals for the UTC day (livebus/usage.py), with the conversation's seconds, under its room too
when it has one.

Every usageMetadata message counts once: Google reports a turn's usage with its turnComplete,
so a session's usage is the sum of those messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from google.genai import types

from livebus import usage
from livebus.usage import Tokens, UsageStore

from . import metrics

log = logging.getLogger(__name__)
_MODALITIES = {m.value: m.value.lower() for m in types.MediaModality}


def modality(d: types.ModalityTokenCount) -> str:
    name = _MODALITIES.get(str(getattr(d.modality, "value", d.modality)), "other")
    return name if name in usage.MODALITIES else "other"


def tokens_of(u: types.UsageMetadata) -> Tokens:
    """A usageMetadata's counts; thoughts (no details) count as text."""
    out: Tokens = {}
    for direction, details in (("prompt", u.prompt_tokens_details),
                               ("response", u.response_tokens_details),
                               ("cached", u.cache_tokens_details),
                               ("tool_use", u.tool_use_prompt_tokens_details)):
        for d in details or []:
            usage.add(out, direction, modality(d), d.token_count or 0)
    # Counts sent without details are kept as "other".
    for direction, count in (("prompt", u.prompt_token_count),
                             ("response", u.response_token_count),
                             ("cached", u.cached_content_token_count),
                             ("tool_use", u.tool_use_prompt_token_count)):
        missing = (count or 0) - sum(out.get(direction, {}).values())
        usage.add(out, direction, "other", missing)
    usage.add(out, "thoughts", "text", u.thoughts_token_count or 0)
    return out


class SessionMeter:
    def __init__(self, store: UsageStore | None, user: str, session_id: str, epoch: int,
                 model: str, flush_s: float, clock: Callable[[], float] = time.time,
                 room: str = "") -> None:
        self.store = store
        self.user, self.session_id, self.epoch, self.model = user, session_id, epoch, model
        if room and not usage.valid_room(room):  # the edge checks it; a KV key must be safe
            log.warning("the session's room id is not valid; its usage counts for no room")
            room = ""
        self.room = room
        self.flush_s = flush_s
        self.clock = clock
        self.day = usage.day_of(clock())
        self.tokens: Tokens = {}
        self.messages = 0
        self.seconds = 0.0
        self._since = clock()  # seconds counted up to here
        self._pending_old: dict[str, Any] | None = None  # the previous day's last totals
        self.open = True  # false in the last record: the session no longer counts as live

    def usage(self, m: types.LiveServerMessage) -> None:
        """A server message (before the client sees it): count its usageMetadata."""
        u = m.usage_metadata
        if u is None:
            return
        self._roll()
        counts = tokens_of(u)
        for direction, row in counts.items():
            for name, n in row.items():
                metrics.TOKENS.labels(direction, name).inc(n)
                usage.add(self.tokens, direction, name, n)
        self.messages += 1

    def _roll(self) -> None:
        """Count the seconds since the last call; a new UTC day starts new totals."""
        now = self.clock()
        elapsed = max(0.0, now - self._since)
        self.seconds += elapsed  # all of it to the day it started in (at most flush_s off)
        metrics.SESSION_SECONDS.inc(elapsed)
        self._since = now
        day = usage.day_of(now)
        if day != self.day:
            self._pending_old = self.record()
            self.day, self.tokens, self.messages, self.seconds = day, {}, 0, 0.0

    def record(self) -> dict[str, Any]:
        rec = {"user": self.user, "session": self.session_id, "epoch": self.epoch,
               "model": self.model, "day": self.day, "tokens": self.tokens,
               "totalTokens": usage.total(self.tokens), "messages": self.messages,
               "seconds": round(self.seconds, 3), "updated": self.clock(), "open": self.open}
        return {**rec, "room": self.room} if self.room else rec

    async def flush(self) -> None:
        self._roll()
        if self.store is None:
            return
        old, self._pending_old = self._pending_old, None
        if old is not None:
            await self.store.put(old)
        rec = self.record()
        await self.store.put(rec)

    async def run(self) -> None:
        """Write this opening's totals every flush_s (errors are retried at the next one)."""
        while True:
            await asyncio.sleep(self.flush_s)
            try:
                await self.flush()
            except Exception as e:
                log.warning("could not store usage (%s)", type(e).__name__)

    async def close(self, within_s: float = 2.0) -> None:
        self.open = False
        with contextlib.suppress(Exception):
            async with asyncio.timeout(within_s):
                await self.flush()
