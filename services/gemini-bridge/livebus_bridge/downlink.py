"""What the upstream sends: reply audio raw onto the bus, the rest as wire JSON, and what the
bridge itself must know from it (one handler per server message field).

Messages are parsed, never substring-matched: a model's text or a tool's arguments may contain
any field name.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Coroutine
from typing import Any

from google.genai import types
from nats.aio.client import Client as NATS

from livebus import audioframe, b64, subjects
from livebus.v1 import bus_pb2

from . import metrics, relay, timing
from .connection import Connection
from .metering import SessionMeter
from .sdkws import Upstream, read_server_message
from .settings import BridgeSettings
from .shadow import ShadowRecorder
from .state import Conversation
from .tools import SessionTools

log = logging.getLogger(__name__)


def seconds(duration: str | None) -> float:
    m = re.fullmatch(r"\s*([0-9.]+)s\s*", duration or "")
    return float(m.group(1)) if m else 0.0


def fast_audio(raw: bytes | str) -> list[tuple[str, bytes]] | None:
    """The audio of a message that is nothing but reply audio, else None."""
    try:
        msg = json.loads(raw)
        content = msg["serverContent"]
        turn = content["modelTurn"]
        if len(msg) != 1 or len(content) != 1 or not set(turn) <= {"parts", "role"}:
            return None
        chunks = []
        for part in turn["parts"]:
            blob = part["inlineData"]
            mime = blob.get("mimeType", "")
            if len(part) != 1 or not mime.startswith("audio/"):
                return None
            chunks.append((mime, b64.decode(blob["data"])))
        return chunks
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def split_audio(msg: types.LiveServerMessage) -> tuple[list[types.Blob], dict[str, Any] | None]:
    """Audio parts (sent raw) and the rest of the message as wire JSON (None when empty)."""
    audio: list[types.Blob] = []
    sc = msg.server_content
    if sc is not None and sc.model_turn is not None and sc.model_turn.parts:
        rest = []
        for part in sc.model_turn.parts:
            blob = part.inline_data
            if blob is not None and blob.data and (blob.mime_type or "").startswith("audio/"):
                audio.append(blob)
            else:
                rest.append(part)
        if audio:
            sc.model_turn = types.Content(role=sc.model_turn.role, parts=rest) if rest else None
    wire = msg.model_dump(mode="json", by_alias=True, exclude_none=True)
    if wire.get("serverContent") == {}:
        del wire["serverContent"]
    return audio, (wire or None)


class Publisher:
    """The session's downlink subjects (audio and events, read through one subscription)."""

    def __init__(self, nc: NATS, session_id: str, clock: timing.SessionTiming) -> None:
        self.nc = nc
        self.session_id = session_id
        self.timing = clock
        self.audio_seq = 0

    async def audio(self, mime: str, pcm: bytes) -> None:
        metrics.AUDIO_DOWN_BYTES.inc(len(pcm))
        self.audio_seq += 1
        now = time.time_ns()
        await self.nc.publish(subjects.down_audio(self.session_id), audioframe.pack(
            pcm, self.audio_seq, mime=mime, upstream_ns=self.timing.reply_audio(now) or 0,
            sent_ns=now))

    async def event(self, ev: bus_pb2.ServerEvent) -> None:
        try:
            await self.nc.publish(subjects.down_event(self.session_id), ev.SerializeToString())
        except Exception as e:
            log.warning("could not publish to the gateway (%s)", type(e).__name__)

    async def message(self, wire: dict[str, Any]) -> None:
        await self.event(bus_pb2.ServerEvent(
            message_json=json.dumps(wire, separators=(",", ":")).encode()))


class Downlink:
    def __init__(self, conv: Conversation, conn: Connection, tools: SessionTools,
                 shadow: ShadowRecorder, clock: timing.SessionTiming, out: Publisher,
                 settings: BridgeSettings, save_record: Callable[[], Coroutine[Any, Any, None]],
                 on_turn_end: Callable[[], None]) -> None:
        self.conv = conv
        self.conn = conn
        self.tools = tools
        self.shadow = shadow
        self.timing = clock
        self.out = out
        self.settings = settings
        self.save_record = save_record
        self.on_turn_end = on_turn_end
        self.unknown_logged = False
        self.meter: SessionMeter | None = None  # usage (metering.py), set by the session
        # After a relayed interrupted or turnComplete (reports.py), set by the session.
        self.on_reply_over: Callable[[], Coroutine[Any, Any, None]] | None = None

    async def run(self, up: Upstream) -> None:
        """Until the connection ends (raises what ended it)."""
        while True:
            raw = await up.recv()
            if raw:
                await self.handle(raw)

    async def handle(self, raw: bytes) -> None:
        # Most messages are pure reply audio: for them building the SDK's models costs ~120 us
        # against ~15 us here (docs/benchmarks.md). Anything else is a LiveServerMessage.
        chunks = fast_audio(raw)
        if chunks is not None:
            self.conv.in_turn = True
            for mime, pcm in chunks:
                await self.out.audio(mime, pcm)
            return
        try:  # read as the SDK reads it (unknown fields skipped), relayed as it came
            message = read_server_message(raw)
        except ValueError:
            await self._unknown(raw)
            return
        if self.meter is not None:
            self.meter.usage(message)
        if self.observe(message):
            return
        for blob in relay.audio_of(message):
            await self.out.audio(blob.mime_type or "", blob.data or b"")
        self.timing.after(message)
        # The client gets the upstream's own JSON: the SDK's dump renames and drops fields.
        cancel = message.tool_call_cancellation
        rest = relay.client_view(json.loads(raw), is_server=self.tools.is_server,
                                 cancelled_client_ids=None if cancel is None else cancel.ids or [])
        if rest is not None:
            await self.out.message(rest)
        sc = message.server_content
        if sc is not None and (sc.interrupted or sc.turn_complete) and self.on_reply_over:
            await self.on_reply_over()

    async def _unknown(self, raw: bytes) -> None:
        """A message this SDK version cannot read (a newer upstream field): the client gets it
        as it came, if it is a JSON object at all; one log line per session."""
        try:
            wire = json.loads(raw)
        except ValueError:
            wire = None
        if not self.unknown_logged:
            self.unknown_logged = True
            log.warning("an upstream message the SDK cannot read was %s; later ones are not "
                        "logged", "passed through" if isinstance(wire, dict) else "dropped")
        if isinstance(wire, dict):
            await self.out.event(bus_pb2.ServerEvent(message_json=raw))

    def observe(self, m: types.LiveServerMessage) -> bool:
        """Track turns, handles, goAway and tokens. True when the client must not see it."""
        if m.go_away is not None:
            return self._go_away(m.go_away)
        if m.session_resumption_update is not None:
            return self._resumption(m.session_resumption_update)
        if m.tool_call is not None and self._tool_call(m.tool_call):
            return True
        if m.tool_call_cancellation is not None and self._cancellation(m.tool_call_cancellation):
            return True
        if m.usage_metadata is not None:
            self._usage(m.usage_metadata)
        if m.server_content is not None:
            self._server_content(m.server_content)
        return False

    def _go_away(self, g: types.LiveServerGoAway) -> bool:
        self.conn.go_away(seconds(g.time_left))
        return True  # the bridge switches connections itself; the client never needs to

    def _resumption(self, u: types.LiveServerSessionResumptionUpdate) -> bool:
        if u.resumable and u.new_handle:
            self.conv.handle = u.new_handle
            asyncio.get_running_loop().create_task(self.save_record())
        return not self.conv.client_wants_handles

    def _tool_call(self, call: types.LiveServerToolCall) -> bool:
        """Server tools run here; True when no call is left for the client."""
        self.conv.in_turn = True
        for fc in call.function_calls or []:
            self.shadow.tool_call(fc, server=self.tools.is_server(fc.name))
        client_calls = self.tools.split(call)
        if not client_calls:
            return True
        call.function_calls = client_calls
        return False

    def _cancellation(self, c: types.LiveServerToolCallCancellation) -> bool:
        client_ids = self.tools.cancel(c.ids or [])
        if not client_ids:
            return True
        c.ids = client_ids
        return False

    def _usage(self, u: types.UsageMetadata) -> None:
        now = u.prompt_token_count
        if not now:
            return
        conv = self.conv
        if conv.resumed_check and now < conv.prompt_tokens * self.settings.context_loss_ratio:
            log.warning("context collapsed after resume (%d -> %d prompt tokens); rebuilding",
                        conv.prompt_tokens, now)
            metrics.CONTEXT_LOSS.inc()
            conv.context_lost = True
            self.conn.switch_due()
        conv.resumed_check = False
        conv.prompt_tokens = now

    def _server_content(self, sc: types.LiveServerContent) -> None:
        if sc.model_turn is not None:
            self.conv.in_turn = True
            for part in sc.model_turn.parts or []:
                if part.text and not part.thought:
                    self.shadow.said += part.text
        if sc.input_transcription and sc.input_transcription.text:
            self.shadow.heard += sc.input_transcription.text
        if sc.output_transcription and sc.output_transcription.text:
            self.shadow.said += sc.output_transcription.text
        if sc.turn_complete:
            self.conv.in_turn = False
            self.shadow.end_turn()
            self.conn.turn_ended()
            self.on_turn_end()
