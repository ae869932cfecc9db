"""The session's uplink: audio and control in client order, through any connection switch.

Audio goes out as soon as a connection is ready. Control events go in order with it, except
that an uploaded image must first be downsized: such an event, and every control event after it
until the still lane is empty, waits there (in order) while audio keeps flowing. Audio never
waits for the session record's save either: only the next control event does.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from google.genai import types
from nats.aio.client import Client as NATS
from websockets.exceptions import ConnectionClosed

from livebus import b64, headers, serverwire, subjects
from livebus.shadowlog import Entry
from livebus.v1 import bus_pb2

from . import activity, metrics, timing
from .connection import Connection
from .record import RecordKeeper
from .sdkws import Upstream
from .settings import BridgeSettings
from .shadow import ShadowRecorder, content_entries, tool_result_entry
from .state import Conversation
from .stills import DROPPED_NOTE, Control, StillLane, StillLimits, control_of, replace_with_note
from .translate import Translator

log = logging.getLogger(__name__)

Item = bytes | bus_pb2.ClientEvent  # bytes: a PCM16 16 kHz chunk
AUDIO_IN_MIME = "audio/pcm;rate=16000"
_AUDIO_FRAME = '{"realtime_input":{"audio":{"data":"%s","mime_type":"' + AUDIO_IN_MIME + '"}}}'
_TURN_END = bus_pb2.ClientEvent(activity_end=True)
PCM_BYTES_PER_SECOND = 32000
_UPLOAD_BYTES = 4096  # client content this big carries inline data


def without_images(ev: bus_pb2.ClientEvent) -> bus_pb2.ClientEvent:
    """The client content with its uploaded images as text notes (raises ValueError)."""
    item = control_of(ev)
    if item.content is None or not item.stills:
        return ev
    for part in item.stills:
        replace_with_note(part, DROPPED_NOTE)
        metrics.STILLS_DROPPED.labels("queue_full").inc()
    body = item.content.model_dump_json(by_alias=True, exclude_none=True).encode()
    return bus_pb2.ClientEvent(seq=ev.seq, client_content_json=body)


class UplinkBuffer:
    """Bounded FIFO. On overflow the oldest audio goes; control messages are never dropped,
    but past `max_control_bytes` (uploads piling up while a connection is replaced) the oldest
    pending uploaded images become short text notes."""

    def __init__(self, max_audio_bytes: int, max_control_bytes: int = 16 << 20) -> None:
        self.items: deque[Item] = deque()
        self.max_audio_bytes = max_audio_bytes
        self.max_control_bytes = max_control_bytes
        self.audio_bytes = 0
        self.control_bytes = 0
        self.ready = asyncio.Event()

    def put(self, item: Item) -> None:
        self.items.append(item)
        if isinstance(item, bytes):
            self.audio_bytes += len(item)
            while self.audio_bytes > self.max_audio_bytes and self._drop_oldest_audio():
                pass
        else:
            self.control_bytes += item.ByteSize()
            while self.control_bytes > self.max_control_bytes and self._shrink_oldest_upload():
                pass
        self.ready.set()

    def _shrink_oldest_upload(self) -> bool:
        for i, it in enumerate(self.items):
            if isinstance(it, bytes) or len(it.client_content_json) < _UPLOAD_BYTES:
                continue
            try:
                smaller = without_images(it)
            except ValueError:
                continue
            if smaller.ByteSize() >= it.ByteSize():
                continue
            self.items[i] = smaller
            self.control_bytes += smaller.ByteSize() - it.ByteSize()
            return True
        return False

    def _drop_oldest_audio(self) -> bool:
        for i, it in enumerate(self.items):
            if isinstance(it, bytes):
                del self.items[i]
                self.audio_bytes -= len(it)
                metrics.UPLINK_DROPPED_BYTES.inc(len(it))
                return True
        return False

    def peek(self) -> Item | None:
        return self.items[0] if self.items else None

    def pop(self) -> None:
        it = self.items.popleft()
        if isinstance(it, bytes):
            self.audio_bytes -= len(it)
        else:
            self.control_bytes -= it.ByteSize()
        if not self.items:
            self.ready.clear()


class Uplink:
    ctl_save_wait_s = 0.5  # the most a control event waits for the previous one's save

    def __init__(self, conn: Connection, conv: Conversation, shadow: ShadowRecorder,
                 clock: timing.SessionTiming, settings: BridgeSettings, nc_video: NATS,
                 record: RecordKeeper) -> None:
        self.conn = conn
        self.conv = conv
        self.shadow = shadow
        self.timing = clock
        self.settings = settings
        self.nc_video = nc_video
        self.record = record
        self._ctl_saved = 0  # the record version holding the last control event sent
        self.buffer = UplinkBuffer(int(settings.uplink_buffer_s * PCM_BYTES_PER_SECOND),
                                   settings.uplink_control_buffer_bytes)
        self.stills = StillLane(StillLimits(
            max_pending=settings.stills_max_pending, per_minute=settings.stills_per_minute,
            bytes_per_minute=settings.still_bytes_per_minute, timeout_s=settings.still_timeout_s),
            self._downsize, self._send_queued)
        self._bad_logged: set[str] = set()  # kinds of bad client message logged already
        self.translate = Translator(conn.model)  # shapes the model refuses, in its own form
        self.gate: activity.Gate | None = None  # turn detection, once the session planned it
        self.on_speech: Callable[[], None] = lambda: None  # the user's activity changed
        self._activity_on: Upstream | None = None  # the connection a local turn started on

    def put(self, item: Item) -> None:
        gate = self.gate
        relog = not isinstance(item, bytes) and 0 < item.seq <= self.conv.ctl_sent
        if gate is None or relog:  # (sent by a predecessor: only logged, not detected again)
            self.buffer.put(item)
            return
        held = gate.dropped_bytes
        for out in gate.feed(item):
            self.buffer.put(out)
        if gate.dropped_bytes != held:
            metrics.AUDIO_HELD_BYTES.inc(gate.dropped_bytes - held)
        if gate.changed:
            gate.changed = False
            self.on_speech()

    def activity_reports(self) -> list[tuple[bool, dict[str, Any]]]:
        """(start?, message): the `voiceActivity` messages the local detector owes the client
        since the last call (the upstream sends none while its own detection is off)."""
        gate = self.gate
        if gate is None or not gate.reports:
            return []
        out = [(start, serverwire.voice_activity(start, at)) for start, at in gate.reports]
        gate.reports.clear()
        return out

    async def tool_responses(self, responses: list[dict[str, Any]]) -> None:
        """Server tools' results go upstream in order with the uplink, through any switch."""
        body = json.dumps({"functionResponses": responses}).encode()
        self.buffer.put(bus_pb2.ClientEvent(tool_response_json=body))

    async def run(self) -> None:
        lane = asyncio.create_task(self.stills.run())
        try:
            await self._send_in_order()
        finally:
            lane.cancel()

    async def _send_in_order(self) -> None:
        while True:
            await self.buffer.ready.wait()
            await self.conn.ready.wait()
            item = self.buffer.peek()
            up = self.conn.current
            if item is None or up is None:
                continue
            try:
                if self._activity_on is not None and self._activity_on is not up:
                    await self._activity(up, activity.START)  # a local turn went on a switch
                if isinstance(item, bytes):
                    await self._send_audio(up, item)
                elif item is activity.START or item is activity.END:
                    await self._activity(up, item)
                else:
                    await self._route_control(up, item)
            except ConnectionClosed:
                self.conn.closed_under(up)
                continue  # keep the item: it goes to the next connection
            except Exception as e:
                self._bad_client_message(item, e)
            self.buffer.pop()

    def _bad_client_message(self, item: Item, e: Exception) -> None:
        """Dropped; logged once per session and kind, not per message."""
        kind = "audio" if isinstance(item, bytes) else str(item.WhichOneof("event"))
        metrics.BAD_CLIENT_MESSAGES.inc()
        if kind not in self._bad_logged:
            self._bad_logged.add(kind)
            log.warning("a client %s message was dropped (%s); later ones are not logged",
                        kind, type(e).__name__)

    async def _send_audio(self, up: Upstream, pcm: bytes) -> None:
        metrics.AUDIO_UP_BYTES.inc(len(pcm))
        await up.send_frame(_AUDIO_FRAME % b64.encode(pcm))
        self.timing.sent(pcm)

    async def _activity(self, up: Upstream, ev: bus_pb2.ClientEvent) -> None:
        """The local detector's own signals: nothing to record, resend or time (the reply
        clock started at the turn's last voiced chunk)."""
        start = ev is activity.START
        if start:
            await up.session.send_realtime_input(activity_start=types.ActivityStart())
        else:
            await up.session.send_realtime_input(activity_end=types.ActivityEnd())
        self._activity_on = up if start else None

    async def _route_control(self, up: Upstream, ev: bus_pb2.ClientEvent) -> None:
        item = control_of(ev)
        if (item.stills or self.stills.busy) and not 0 < item.seq <= self.conv.ctl_sent:
            self.stills.put(item)
            return
        if await self._send_control(up, item):
            self.timing.sent(ev)

    async def _send_queued(self, item: Control) -> None:
        """The still lane's sender: through connection switches, until it went upstream."""
        while True:
            await self.conn.ready.wait()
            up = self.conn.current
            if up is None:
                await asyncio.sleep(0)
                continue
            try:
                sent = await self._send_control(up, item)
            except ConnectionClosed:
                self.conn.closed_under(up)
                await asyncio.sleep(0)
                continue
            except Exception as e:
                self._bad_client_message(item.event, e)
                return
            if sent:  # its JSON is not kept: a turn end is told by the parsed content
                ended = item.content is not None and bool(item.content.turn_complete)
                self.timing.sent(_TURN_END if ended else item.event)
            return

    async def _send_control(self, up: Upstream, item: Control) -> bool:
        """Whether it went upstream (not: a predecessor had sent it)."""
        if item.seq and item.seq <= self.conv.ctl_sent:
            # A predecessor sent it before it died: never again upstream. But if its entries
            # were not stored by then (the record's ctl_logged is behind), they died with it:
            # logged here, under the same message ids (stored once, whoever stores first).
            if item.seq > self.conv.ctl_logged:
                self.shadow.event(item.seq, self._entries(item))
                self.shadow.mark(item.seq)
            return False
        # A successor resends every control event the record does not count as sent. The
        # record is saved in the background, so audio goes on at once (audio is never resent:
        # the record says nothing about it), but the next control event waits until the
        # previous one is stored. Whenever this bridge dies, the record therefore lacks at
        # most the last control event sent, which the successor sends again (as a death
        # between a send and its save always meant), never an earlier one behind a later one.
        # Bounded: past it (JetStream electing a leader) the event goes, the save goes on.
        await self.record.stored(self._ctl_saved, self.ctl_save_wait_s)
        self.shadow.event(item.seq, self._entries(item))
        await self._send_event(up, item)
        if item.seq:
            self.conv.ctl_sent = item.seq
            self._ctl_saved = self.record.request()
            # ctl_logged follows once its entries are stored (the session saves it): a
            # successor logs what it sent until then (above).
            self.shadow.mark(item.seq)
        return True

    def _entries(self, item: Control) -> list[Entry]:
        """What the shadow log keeps of a control event."""
        ev = item.event
        kind = ev.WhichOneof("event")
        if item.content is not None:
            return content_entries(item.content)
        if kind == "text":
            return [Entry(role="user", kind="text", text=ev.text)]
        if kind == "tool_response_json":
            tr = types.LiveClientToolResponse.model_validate_json(ev.tool_response_json)
            # seq 0: the bridge's own results, of server tools
            return [tool_result_entry(r, server=ev.seq == 0) for r in tr.function_responses or []]
        return []

    async def _send_event(self, up: Upstream, item: Control) -> None:
        live, ev = up.session, item.event
        kind = ev.WhichOneof("event")
        if item.content is not None:
            await self.translate.client_content(up, item.content)
            return
        up.seeding = False  # anything else ends the initial-history phase
        if kind == "text":
            await live.send_realtime_input(text=ev.text)
        elif kind == "tool_response_json":
            tr = types.LiveClientToolResponse.model_validate_json(ev.tool_response_json)
            await live.send_tool_response(
                function_responses=self.translate.tool_responses(tr.function_responses or []))
        elif kind == "activity_start":
            await live.send_realtime_input(activity_start=types.ActivityStart())
        elif kind == "activity_end":
            await live.send_realtime_input(activity_end=types.ActivityEnd())
        elif kind == "audio_stream_end":
            await live.send_realtime_input(audio_stream_end=True)

    async def _downsize(self, data: bytes, mime: str) -> tuple[bytes, str] | None:
        """An uploaded image at the video bound (512x512, ~30 KB), from a frame-sampler."""
        try:
            reply = await self.nc_video.request(subjects.SAMPLER_STILL, data,
                                                timeout=self.settings.still_timeout_s,
                                                headers={headers.MIME: mime})
        except Exception as e:
            log.warning("uploaded image sent as it is (no sampler: %s)", type(e).__name__)
            return None
        if (reply.headers or {}).get(headers.ERROR):
            log.info("uploaded image refused by the sampler; sent as it is")
            return None
        return reply.data, "image/jpeg"
