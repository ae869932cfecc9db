"""One Live connection: auth, setup, the input loop, turn detection, timers and closing.

Close codes (Google maps gRPC status to WebSocket close codes; reasons as seen in the field):
- 1007 invalid argument: bad API key, bad first message, malformed frames, unknown or expired
  resumption handle, activity signals while automatic activity detection is on.
- 1008 "The operation was aborted.": the connection reached its lifetime (after goAway);
  Google reports ABORTED there (goAway: "...will be terminated as ABORTED").
- 1011 "Deadline expired before operation could complete.": a session without context window
  compression reached its limit (15 min audio, 2 min audio+video); also internal errors.
Gemini 3 mode (by the model's entry in livebus.models): 1007 for `mediaChunks`, mid-session
`clientContent`, `scheduling` inside a function `response`; 1011 for TEXT output where the model
has none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Coroutine
from typing import Any

from starlette.websockets import WebSocket

from livebus import serverwire
from livebus_emulator import messages, metrics
from livebus_emulator.activity import Interim, covered
from livebus_emulator.conversation import Conversation
from livebus_emulator.events import (
    ActivityEnd,
    ActivityStart,
    Audio,
    AudioStreamEnd,
    ClientContent,
    ContextUpdate,
    Event,
    Setup,
    Text,
    ToolResponse,
    Video,
)
from livebus_emulator.images import image_size
from livebus_emulator.outbox import Outbox
from livebus_emulator.records import ConnectionRecord
from livebus_emulator.state import EmulatorState
from livebus_emulator.turns import UserTurn
from livebus_emulator.vad import EnergyVad, SpeechEnded, SpeechStarted, silent_seconds
from livebus_emulator.wire import (
    WireError,
    content_text,
    declared_functions,
    parse_event,
    parse_frame,
    parse_setup,
    pick,
)

_log = logging.getLogger(__name__)

BAD_KEY = "API key not valid. Please pass a valid API key."
BAD_HANDLE = "Invalid session resumption handle: the handle is unknown or has expired."
ABORTED = "The operation was aborted."
DEADLINE = "Deadline expired before operation could complete."
INTERNAL = "Internal error encountered."
_REALTIME = (Audio, Video, Text, ActivityStart, ActivityEnd, AudioStreamEnd)
SETUP_TIMEOUT_S = 30.0


def api_key_of(ws: WebSocket) -> str:
    """The key as Google reads it: x-goog-api-key, `Authorization: Token`, ?key, ?access_token."""
    key = ws.headers.get("x-goog-api-key", "")
    if not key:
        auth = ws.headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() in ("token", "bearer"):
            key = value.strip()
    return (key or ws.query_params.get("key", "")
            or ws.query_params.get("access_token", ""))


class LiveSession:
    def __init__(self, ws: WebSocket, state: EmulatorState, api_version: str,
                 method: str) -> None:
        self.ws = ws
        self.state = state
        self.settings = state.settings
        self.outbox = Outbox(ws)
        self.record = ConnectionRecord(
            id="c-" + secrets.token_hex(6), path=ws.scope.get("path", ""), method=method,
            api_version=api_version)
        self.key = api_key_of(ws)
        self.conversation: Conversation | None = None
        self.setup: Setup | None = None
        self.vad: EnergyVad | None = None
        self._vad_offset = 0.0  # audio time where the current detector started
        self.audio_s = 0.0  # audio time of this connection
        self.in_activity = False
        self.activity_start_s = 0.0
        self.activity_silent_s = 0.0  # of the audio in the activity: silence, not speech
        self.transcript: str | None = None
        self.interim = Interim()
        self._opened = time.monotonic()
        self._timers: list[asyncio.Task[None]] = []
        self._lifetime: asyncio.Task[None] | None = None

    # ---- LiveControl ----------------------------------------------------------------------

    async def go_away(self, time_left_s: float | None, close: bool) -> None:
        if time_left_s is None:
            left = max(0.0, min(self._lifetime_left(), self.settings.goaway_notice_s))
        else:
            left = max(0.0, time_left_s)
        self.record.goaways.append({"time_left_s": left, "t": self.record.elapsed()})
        await self.outbox.send(messages.go_away(left))
        if close:
            if self._lifetime is not None:
                self._lifetime.cancel()
            self._lifetime = self._timer(self._close_after(left, 1008, ABORTED))

    async def drop(self, code: int, reason: str) -> None:
        await self.close(code, reason)

    def set_transcript(self, text: str) -> None:
        self.transcript = text

    # ---- running --------------------------------------------------------------------------

    async def run(self) -> None:
        await self.ws.accept()
        registry = self.state.registry
        registry.opened(self.record, self)
        metrics.CONNECTIONS.labels(self.record.method).inc()
        metrics.OPEN_CONNECTIONS.inc()
        reader: asyncio.Task[None] | None = None
        try:
            if await self._start():
                reader = asyncio.create_task(self._read_loop())
                await self.outbox.closed.wait()
        except Exception as e:
            _log.exception("connection %s failed", self.record.id)
            await self.close(1011, f"{INTERNAL} {e.__class__.__name__}")
        finally:
            for task in [reader, *self._timers]:
                if task is not None:
                    task.cancel()
            if self.conversation is not None:
                await self.conversation.stop()
            for task in [reader, *self._timers]:
                if task is not None:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            registry.closed(self.record, self.outbox.close_code, self.outbox.close_reason)
            metrics.OPEN_CONNECTIONS.dec()
            if self.outbox.closed_by_server:
                metrics.CLOSES.labels(str(self.outbox.close_code)).inc()

    async def close(self, code: int, reason: str) -> None:
        if await self.outbox.close(code, reason):
            _log.info("closed %s: %d %s", self.record.id, code, reason)

    async def _receive(self) -> str | bytes | None:
        message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            self.outbox.peer_closed(message.get("code"), message.get("reason") or "")
            return None
        text = message.get("text")
        if text is not None:
            return str(text)
        data = message.get("bytes")
        return bytes(data) if data is not None else b""

    async def _start(self) -> bool:
        """Read and answer the setup; False if the connection ended instead."""
        try:
            first = await asyncio.wait_for(self._receive(), SETUP_TIMEOUT_S)
        except TimeoutError:
            await self.close(1007, "No setup message received.")
            return False
        if first is None:
            return False
        accepted = self.settings.api_keys
        if not self.key or (accepted and self.key not in accepted):
            await self.close(1007, BAD_KEY)
            return False
        try:
            setup = parse_setup(parse_frame(first))
        except WireError as e:
            await self.close(1007, e.reason)
            return False
        if "TEXT" in setup.response_modalities and not setup.caps.text_output:
            await self.close(1011, INTERNAL)
            return False
        self.setup = setup
        self.record.setup = setup.raw
        self.record.model = setup.model
        self.record.session_id = "s-" + secrets.token_hex(8)
        conversation = Conversation(setup, self.outbox, self.record, self.settings,
                                    self.state.speaker, self.state.handles, self._failed)
        if setup.handle is not None:
            snapshot = self.state.handles.get(setup.handle)
            if snapshot is None:
                await self.close(1007, BAD_HANDLE)
                return False
            self.record.resumed_from = setup.handle
            self.record.session_id = snapshot.session_id
            history = [] if self.state.take_amnesia() else snapshot.history
            self.record.restored_history = history
            conversation.restore(history)
        self.conversation = conversation
        if not setup.vad.disabled:
            self.vad = EnergyVad(setup.vad)
        await self.outbox.send(messages.setup_complete(self.record.session_id))
        self._lifetime = self._timer(self._lifetime_timer())
        if not setup.compression:
            self._timer(self._session_limit_timer())
        if setup.handle is not None:
            await conversation.issue_handle()
        return True

    async def _failed(self, error: BaseException) -> None:
        await self.close(1011, f"{INTERNAL} {error.__class__.__name__}")

    async def _read_loop(self) -> None:
        while True:
            frame = await self._receive()
            if frame is None:
                return
            try:
                assert self.setup is not None
                for event in parse_event(parse_frame(frame), self.setup.caps):
                    await self._handle(event)
            except WireError as e:
                await self.close(1007, e.reason)
                return
            except Exception as e:
                _log.exception("input failed on %s", self.record.id)
                await self.close(1011, f"{INTERNAL} {e.__class__.__name__}")
                return

    # ---- input events ---------------------------------------------------------------------

    async def _handle(self, event: Event) -> None:
        conversation = self.conversation
        setup = self.setup
        assert conversation is not None and setup is not None
        if isinstance(event, _REALTIME):
            conversation.realtime_input()
        match event:
            case Audio():
                await self._audio(event, conversation)
            case Video():
                size = image_size(event.data)
                frame = {"width": size[0] if size else None, "height": size[1] if size else None,
                         "bytes": len(event.data), "mime": event.mime, "t": self.record.elapsed(),
                         "in_activity": self._active()}
                self.record.frames.append(frame)
                conversation.frames_since.append(frame)
            case Text():
                self.record.texts.append(event.text)
                await conversation.barge_in()
                audio_s, frames = covered(setup.turn_coverage, 0.0, *conversation.take_input(),
                                          typed=True)
                conversation.start_reply(UserTurn("text", event.text, audio_s=audio_s,
                                                  frames=frames))
            case ActivityStart():
                if self.vad is not None:
                    raise WireError("Explicit activity control is not supported when automatic "
                                    "activity detection is enabled.")
                await conversation.barge_in()
                self.in_activity = True
                self.activity_start_s = self.audio_s
                self.activity_silent_s = 0.0
                self.interim.start(self.audio_s)
            case ActivityEnd():
                if self.vad is not None:
                    raise WireError("Explicit activity control is not supported when automatic "
                                    "activity detection is enabled.")
                if self.in_activity:
                    self.in_activity = False
                    self._end_speech(self.activity_start_s, self.audio_s, self.activity_silent_s)
            case AudioStreamEnd():
                if self.vad is not None:
                    ended = self.vad.flush()
                    if ended is not None:
                        await self._vad_ended(ended)
                elif self.in_activity:
                    self.in_activity = False
                    self._end_speech(self.activity_start_s, self.audio_s, self.activity_silent_s)
            case ClientContent():
                await conversation.client_content(event)
            case ToolResponse():
                await conversation.tool_response(event.responses)
            case ContextUpdate():
                self.record.context_updates.append({**event.raw, "t": self.record.elapsed()})
                system = pick(event.raw, "systemInstruction")
                if system is not None:
                    conversation.system_text = content_text(system)
                tools = pick(event.raw, "tools")
                if tools is not None:
                    names, non_blocking = declared_functions(tools, "context_update.tools")
                    conversation.functions = names
                    if setup.caps.non_blocking_functions:
                        conversation.non_blocking = frozenset(non_blocking)

    def _active(self) -> bool:
        return self.in_activity or (self.vad is not None and self.vad.in_speech)

    async def _audio(self, event: Audio, conversation: Conversation) -> None:
        seconds = len(event.pcm) / 2 / event.rate
        start_s = self.audio_s
        self.audio_s += seconds
        self.record.audio_seconds += seconds
        conversation.audio_since += seconds
        if self.in_activity:
            self.activity_silent_s += silent_seconds(event.pcm, event.rate)
        if self.vad is not None:
            if self.vad.rate != event.rate:
                self.vad = self._new_vad(event.rate, start_s)
            for vad_event in self.vad.feed(event.pcm):
                if isinstance(vad_event, SpeechStarted):
                    at_s = self._vad_offset + vad_event.at_s
                    await self.outbox.send(serverwire.voice_activity(True, at_s))
                    self.interim.start(at_s)
                    await conversation.barge_in()
                elif isinstance(vad_event, SpeechEnded):
                    await self._vad_ended(vad_event)
        text = self.interim.due(self.audio_s, self.transcript)
        if text is not None and self.setup is not None and self.setup.input_transcription:
            await self.outbox.send(messages.interim_input_transcription(text))

    async def _vad_ended(self, ended: SpeechEnded) -> None:
        await self.outbox.send(serverwire.voice_activity(False, self._vad_offset + ended.end_s))
        self._end_speech(self._vad_offset + ended.start_s, self._vad_offset + ended.end_s)

    def _new_vad(self, rate: int, at_s: float) -> EnergyVad:
        assert self.setup is not None
        self._vad_offset = at_s
        return EnergyVad(self.setup.vad, rate)

    def _end_speech(self, start_s: float, end_s: float, silent_s: float | None = None) -> None:
        conversation = self.conversation
        assert conversation is not None
        duration = max(0.0, end_s - start_s)
        override = self.transcript or self.state.registry.take_transcript()
        self.transcript = None
        transcript = override or f"[speech {duration:.2f} s]"
        self.record.speech_segments.append({
            "start_s": round(start_s, 3), "duration_s": round(duration, 3),
            "transcript": transcript, "t": self.record.elapsed(),
            **({} if silent_s is None else {"silent_s": round(silent_s, 3)})})
        self.interim.stop()
        assert self.setup is not None
        audio_s, frames = covered(self.setup.turn_coverage, duration, *conversation.take_input())
        conversation.start_reply(UserTurn("speech", override or "", speech_s=duration,
                                          start_s=start_s,
                                          audio_s=audio_s, frames=frames,
                                          transcript=transcript))

    # ---- timers ---------------------------------------------------------------------------

    def _timer(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._timers.append(task)
        return task

    def _lifetime_left(self) -> float:
        return self.settings.connection_lifetime_s - (time.monotonic() - self._opened)

    async def _lifetime_timer(self) -> None:
        lifetime = self.settings.connection_lifetime_s
        if lifetime <= 0:
            return
        notice = min(self.settings.goaway_notice_s, lifetime)
        await asyncio.sleep(max(0.0, self._lifetime_left() - notice))
        self.record.goaways.append({"time_left_s": notice, "t": self.record.elapsed()})
        await self.outbox.send(messages.go_away(notice))
        await asyncio.sleep(max(0.0, self._lifetime_left()))
        await self.close(1008, ABORTED)

    async def _close_after(self, seconds: float, code: int, reason: str) -> None:
        await asyncio.sleep(max(0.0, seconds))
        await self.close(code, reason)

    async def _session_limit_timer(self) -> None:
        while True:
            limit = (self.settings.av_session_limit_s if self.record.frames
                     else self.settings.audio_session_limit_s)
            if limit <= 0:
                await asyncio.sleep(0.25)
                continue
            left = limit - (time.monotonic() - self._opened)
            if left <= 0:
                await self.close(1011, DEADLINE)
                return
            await asyncio.sleep(min(left, 0.25))
