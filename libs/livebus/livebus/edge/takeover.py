"""Moving a session to another bridge while the client's connection stays open.

When the session's bridge falls silent (or asks to be drained), the uplink is held (bounded),
the session is reopened on another bridge, and the held uplink goes out in order. Audio sent
after the lost bridge's last sign of life is replayed, since nobody was listening then.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterable
from typing import Protocol

from livebus import closecodes
from livebus.v1 import bus_pb2

from . import wire
from .buses import EdgeBus
from .metrics import EdgeMetrics
from .settings import EdgeSettings

log = logging.getLogger(__name__)


class HeldUplink:
    """The uplink held during a move, in order; video is never held (it is opportunistic) and
    audio is bounded: past `max_audio_bytes` the oldest held audio is dropped first."""

    def __init__(self, max_audio_bytes: int) -> None:
        self.max_audio_bytes = max_audio_bytes
        self.items: deque[wire.Action] = deque()
        self.audio_bytes = 0

    def __len__(self) -> int:
        return len(self.items)

    def hold(self, action: wire.Action) -> int:
        """Hold one action; returns the audio bytes dropped to stay in bounds."""
        if isinstance(action, wire.Video | wire.Note):
            return 0
        self.items.append(action)
        if not isinstance(action, wire.Audio):
            return 0
        self.audio_bytes += len(action.pcm)
        dropped = 0
        while self.audio_bytes > self.max_audio_bytes:
            oldest = next((a for a in self.items if isinstance(a, wire.Audio)), None)
            if oldest is None:
                break
            self.items.remove(oldest)
            self.audio_bytes -= len(oldest.pcm)
            dropped += len(oldest.pcm)
        return dropped

    def put_first(self, actions: Iterable[wire.Action]) -> None:
        """Replayed actions go before everything held (they are older)."""
        replay = list(actions)
        self.items.extendleft(reversed(replay))
        self.audio_bytes += sum(len(a.pcm) for a in replay if isinstance(a, wire.Audio))

    def pop(self) -> wire.Action | None:
        if not self.items:
            self.audio_bytes = 0
            return None
        action = self.items.popleft()
        if isinstance(action, wire.Audio):
            self.audio_bytes -= len(action.pcm)
        return action


class RecentUplink:
    """What went to the bridge in the last `horizon_s` (video excluded), with when."""

    def __init__(self, horizon_s: float) -> None:
        self.horizon_s = horizon_s
        self.items: deque[tuple[float, wire.Action]] = deque()

    def add(self, now: float, action: wire.Action) -> None:
        if isinstance(action, wire.Video | wire.Note):
            return
        self.items.append((now, action))
        while self.items and self.items[0][0] < now - self.horizon_s:
            self.items.popleft()

    def replay_after(self, last_heard: float) -> list[wire.Action]:
        """Audio since the bridge was last heard from, and every recent control event: the next
        bridge skips control events its predecessor had sent upstream (by seq)."""
        return [a for t, a in self.items if t > last_heard or isinstance(a, wire.Control)]

    def clear(self) -> None:
        self.items.clear()


class Movable(Protocol):
    """What a move needs from the session it moves."""

    bridge_id: str
    ctl_seq: int

    async def reopen(self) -> bus_pb2.OpenSessionReply: ...
    async def publish_now(self, action: wire.Action) -> None: ...
    def end_turn(self) -> None: ...
    def moved(self) -> None: ...
    def end(self, code: int, reason: str) -> None: ...


class Takeover:
    """One session's moves: watches its bridge, holds its uplink, reopens it elsewhere."""

    def __init__(self, session: Movable, bus: EdgeBus, settings: EdgeSettings,
                 metrics: EdgeMetrics) -> None:
        self.session = session
        self.bus = bus
        self.settings = settings
        self.metrics = metrics
        self.holding = False
        self.held = HeldUplink(settings.hold_audio_bytes)
        self.recent = RecentUplink(settings.bridge_silence_s + 1.0)
        self.task: asyncio.Task[None] | None = None

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(self.settings.bridge_silence_s / 3)
            bridge = self.session.bridge_id
            silent = self.bus.bridge_silent_for(bridge) if bridge else 0.0
            if not self.holding and silent > self.settings.bridge_silence_s:
                log.warning("bridge %s is silent; moving the session", bridge)
                self.start("bridge_lost")

    def start(self, cause: str) -> None:
        if self.holding:
            return
        self.holding = True
        self.metrics.moves[cause].inc()
        if cause == "bridge_lost":
            last_heard = self.bus.bridge_last_seen(self.session.bridge_id)
            self.held.put_first(self.recent.replay_after(last_heard))
        self.recent.clear()
        self.session.end_turn()  # a reply in progress died with its bridge
        self.task = asyncio.get_running_loop().create_task(self._move())

    def hold(self, action: wire.Action) -> None:
        dropped = self.held.hold(action)
        if dropped:
            self.metrics.held_audio_dropped.inc(dropped)

    def sent(self, action: wire.Action) -> None:
        self.recent.add(time.monotonic(), action)

    async def _move(self) -> None:
        started = time.monotonic()
        deadline = started + self.settings.takeover_deadline_s
        while time.monotonic() < deadline:
            reply = await self.session.reopen()
            if reply.ok:
                self.session.bridge_id = reply.bridge_id
                self.session.ctl_seq = max(self.session.ctl_seq, reply.ctl_seq)
                while (action := self.held.pop()) is not None:  # in order, before anything newer
                    await self.session.publish_now(action)
                self.session.moved()  # resends (of what is still unacknowledged) go on
                self.holding = False
                log.info("session moved to bridge %s in %.0f ms", reply.bridge_id,
                         (time.monotonic() - started) * 1000)
                return
            await asyncio.sleep(0.2)
        self.session.end(closecodes.INTERNAL, "session could not be moved")

    def cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
