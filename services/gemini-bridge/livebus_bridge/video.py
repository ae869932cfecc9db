"""The session's video: the latest sampled frame wins, never in the audio path."""

from __future__ import annotations

import asyncio
import contextlib
import json

from nats.aio.msg import Msg
from websockets.exceptions import ConnectionClosed

from livebus import b64, headers

from . import metrics, timing
from .connection import Connection

_VIDEO_FRAME = '{"realtime_input":{"video":{"data":"%s","mime_type":%s}}}'


class VideoSlot:
    def __init__(self, conn: Connection, clock: timing.SessionTiming) -> None:
        self.conn = conn
        self.timing = clock
        self.frame: tuple[bytes, str] | None = None
        self.ready = asyncio.Event()

    async def on_frame(self, msg: Msg) -> None:
        if self.frame is not None:
            metrics.FRAMES_REPLACED.inc()
        self.timing.video_in(msg)
        self.frame = (msg.data, (msg.headers or {}).get(headers.MIME, "image/jpeg"))
        self.ready.set()

    async def run(self) -> None:
        while True:
            await self.ready.wait()
            await self.conn.ready.wait()
            self.ready.clear()
            frame, self.frame = self.frame, None
            up = self.conn.current
            if frame is None or up is None:
                continue
            with contextlib.suppress(ConnectionClosed):  # video is opportunistic
                await up.send_frame(_VIDEO_FRAME % (b64.encode(frame[0]), json.dumps(frame[1])))
                metrics.FRAMES_UP.inc()
                self.timing.video_sent(frame[0])
