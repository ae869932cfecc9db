"""Control events that carry uploaded images, off the audio path.

An uploaded image (clientContent inlineData image/*) is downsized by a frame-sampler before it
goes upstream. That takes time, so such events, and every control event after them until the
lane is empty again, wait here in client order while audio keeps flowing past. What it holds is
bounded: a few pending stills (a new one past the bound replaces the oldest pending image with a
short text note), a per-minute budget of images and bytes per session, and a timeout per downsize.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from google.genai import types

from livebus.v1 import bus_pb2

from . import metrics

log = logging.getLogger(__name__)

DROPPED_NOTE = "[an uploaded image was left out: too many images at once]"
OVER_BUDGET_NOTE = "[an uploaded image was left out: upload limit reached]"
WINDOW_S = 60.0


@dataclass
class Control:
    """One control event on its way upstream; client content parsed once."""

    event: bus_pb2.ClientEvent
    content: types.LiveClientContent | None = None
    stills: list[types.Part] = field(default_factory=list)  # image parts not yet downsized

    @property
    def seq(self) -> int:
        return self.event.seq


@dataclass(frozen=True)
class StillLimits:
    max_pending: int = 4          # stills waiting for a downsize, per session
    per_minute: int = 30          # uploaded images accepted per session per minute
    bytes_per_minute: int = 16 * 1024 * 1024
    timeout_s: float = 2.0        # one downsize at most


# (data, mime) -> the downsized (data, mime), or None to send the image as it is.
Downsize = Callable[[bytes, str], Awaitable[tuple[bytes, str] | None]]
Send = Callable[[Control], Awaitable[None]]


def image_parts(content: types.LiveClientContent) -> list[types.Part]:
    return [part for turn in content.turns or [] for part in turn.parts or []
            if part.inline_data is not None and part.inline_data.data
            and (part.inline_data.mime_type or "").startswith("image/")]


def control_of(event: bus_pb2.ClientEvent) -> Control:
    """Parses client content (raises ValueError when it is not valid)."""
    if event.WhichOneof("event") != "client_content_json":
        return Control(event)
    content = types.LiveClientContent.model_validate_json(event.client_content_json)
    # The parsed content is what goes on; the JSON copy of the images is not kept.
    return Control(bus_pb2.ClientEvent(seq=event.seq), content, image_parts(content))


def replace_with_note(part: types.Part, note: str) -> None:
    part.inline_data = None
    part.text = note


class StillLane:
    def __init__(self, limits: StillLimits, downsize: Downsize, send: Send) -> None:
        self.limits = limits
        self.downsize = downsize
        self.send = send
        self.queue: deque[Control] = deque()
        self.ready = asyncio.Event()
        self._in_flight = False
        self._window: deque[tuple[float, int]] = deque()  # (accepted at, bytes)

    @property
    def busy(self) -> bool:
        """While anything is queued or being sent, later control events must queue behind it."""
        return self._in_flight or bool(self.queue)

    def pending_stills(self) -> int:
        return sum(len(c.stills) for c in self.queue)

    def put(self, item: Control) -> None:
        for part in list(item.stills):
            if not self._budget(part):
                replace_with_note(part, OVER_BUDGET_NOTE)
                item.stills.remove(part)
                metrics.STILLS_DROPPED.labels("budget").inc()
        self.queue.append(item)
        while self.pending_stills() > self.limits.max_pending:
            self._drop_oldest()
        self.ready.set()

    def _budget(self, part: types.Part) -> bool:
        now = time.monotonic()
        while self._window and now - self._window[0][0] > WINDOW_S:
            self._window.popleft()
        size = len(part.inline_data.data or b"") if part.inline_data is not None else 0
        used = sum(n for _, n in self._window)
        if len(self._window) >= self.limits.per_minute or used + size > \
                self.limits.bytes_per_minute:
            return False
        self._window.append((now, size))
        return True

    def _drop_oldest(self) -> None:
        for c in self.queue:
            if c.stills:
                replace_with_note(c.stills.pop(0), DROPPED_NOTE)
                metrics.STILLS_DROPPED.labels("queue_full").inc()
                return

    async def run(self) -> None:
        while True:
            await self.ready.wait()
            if not self.queue:
                self.ready.clear()
                continue
            item = self.queue.popleft()
            self._in_flight = True
            try:
                while item.stills:
                    await self._downsize(item.stills.pop(0))
                await self.send(item)
            except Exception as e:  # the sender logs its own failures; never stop the lane
                log.warning("control event dropped (%s)", type(e).__name__)
            finally:
                self._in_flight = False
                del item  # nothing keeps an image once it went upstream

    async def _downsize(self, part: types.Part) -> None:
        blob = part.inline_data
        if blob is None or not blob.data:
            return
        try:
            async with asyncio.timeout(self.limits.timeout_s):
                out = await self.downsize(blob.data, blob.mime_type or "")
        except TimeoutError:
            log.info("an uploaded image was not downsized in time; sent as it is")
            metrics.STILLS_DROPPED.labels("timeout").inc()
            return
        if out is not None:
            blob.data, blob.mime_type = out
