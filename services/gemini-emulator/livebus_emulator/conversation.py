"""The model side of one connection: user turns, replies, tool calls, barge-in and history.

A reply runs as its own task so that input keeps flowing while it streams; barge-in cancels
that task and reports what was cut (`interrupted`, `toolCallCancellation`, `turnComplete`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable

from livebus_emulator import messages, metrics
from livebus_emulator.events import ClientContent, JsonObject, Setup
from livebus_emulator.handles import HandleStore
from livebus_emulator.outbox import Outbox
from livebus_emulator.records import ConnectionRecord
from livebus_emulator.settings import EmulatorSettings
from livebus_emulator.speech import OUT_RATE, Speaker
from livebus_emulator.turns import (
    UserTurn,
    content_images,
    describe,
    find_calls,
    needs_more_input,
    spoken_result,
    tokens,
    transcription_details,
)
from livebus_emulator.usage import audio_tokens, usage_metadata
from livebus_emulator.wire import NO_CLIENT_CONTENT, WireError, content_text, pick

_log = logging.getLogger(__name__)
_MAX_CALL_TEXT = 64 * 1024  # tool calls are looked for in this much of the user's text
_TEXT_FRAGMENT_WORDS = 4
_TEXT_FRAGMENT_S = 0.05


class Conversation:
    def __init__(self, setup: Setup, outbox: Outbox, record: ConnectionRecord,
                 settings: EmulatorSettings, speaker: Speaker, handles: HandleStore,
                 on_failure: Callable[[BaseException], Awaitable[None]]) -> None:
        self.setup = setup
        self.outbox = outbox
        self.record = record
        self.settings = settings
        self.speaker = speaker
        self.handles = handles
        self.on_failure = on_failure
        self.history: list[JsonObject] = record.history
        self.functions = list(setup.functions)
        self.system_text = setup.system_text
        self.caps = setup.caps
        self.realtime_started = False  # realtime input or a reply happened: client content is
        self.seeding = setup.initial_history  # mid-session; seeding: initial history phase
        self.non_blocking = setup.non_blocking if self.caps.non_blocking_functions else frozenset()
        # Input since the previous turn.
        self.audio_since = 0.0
        self.frames_since: list[JsonObject] = []
        # The reply in flight.
        self._task: asyncio.Task[None] | None = None
        self._queued: list[asyncio.Task[None]] = []  # replies waiting for the one in flight
        self._generating = False
        self._spoken: list[str] = []
        self._reply_audio_s = 0.0
        self._turn_end = 0.0
        self._first_audio_s: float | None = None  # turn end to first audio: the real latency
        self._response: Counter[str] = Counter()
        self._prompt: Counter[str] = Counter()
        self._pending_calls: dict[str, JsonObject] = {}
        self._answers: list[JsonObject] = []
        self._answered: asyncio.Event = asyncio.Event()
        self._async_calls: dict[str, JsonObject] = {}  # NON_BLOCKING calls without a final result

    # ---- history ------------------------------------------------------------------------

    def restore(self, history: list[JsonObject]) -> None:
        self.history.extend(history)
        self.realtime_started = True  # a resumed session is mid-session
        self.seeding = False

    def realtime_input(self) -> None:
        """Realtime input arrived: the initial history phase (if any) is over."""
        self.realtime_started = True
        self.seeding = False

    def _add(self, item: JsonObject) -> None:
        item.setdefault("t", self.record.elapsed())
        self.history.append(item)

    def _prompt_tokens(self) -> Counter[str]:
        total: Counter[str] = Counter(tokens(text=self.system_text))
        for item in self.history:
            total.update(item.get("tokens", {}))
        return total

    def _compress(self) -> None:
        """Sliding window: past trigger_tokens, drop the oldest turns down to target_tokens."""
        trigger = self.setup.trigger_tokens
        if not self.setup.compression or not trigger:
            return
        target = self.setup.target_tokens or trigger // 2
        total = sum(self._prompt_tokens().values())
        if total <= trigger:
            return
        while self.history and total > target:
            dropped = self.history.pop(0)
            total -= sum(dropped.get("tokens", {}).values())

    async def issue_handle(self) -> None:
        if not self.setup.resumption:
            return
        handle = self.handles.issue(self.record.session_id, self.record.id, self.history)
        self.record.handles.append(handle)
        await self.outbox.send(messages.resumption_update(handle))

    # ---- input --------------------------------------------------------------------------

    async def client_content(self, content: ClientContent) -> None:
        seeding = self.seeding
        if not seeding and self.realtime_started and not self.caps.mid_session_client_content:
            raise WireError(NO_CLIENT_CONTENT)
        self.record.client_contents.append({
            "turns": content.turns, "turn_complete": content.turn_complete,
            "before_first_turn": not self.realtime_started, "t": self.record.elapsed(),
        })
        last_user = ""
        images: list[JsonObject] = []
        for turn in content.turns:
            role = str(pick(turn, "role", "user") or "user")
            text = content_text(turn)
            pictures = content_images(turn)
            if role == "user":
                last_user = text
                images += pictures
            self._add({"role": role, "kind": "content", "text": text,
                       "tokens": tokens(text=text, images=len(pictures),
                                         image_tokens=self.setup.image_tokens)})
        if seeding and content.turn_complete:  # seed history ends; no model call
            self.seeding = False
            await self.issue_handle()
        elif content.turn_complete:
            await self.barge_in()
            self.start_reply(UserTurn("text", last_user or self._last_user_text(),
                                      frames=images), in_history=True)
        else:
            await self.issue_handle()

    def _last_user_text(self) -> str:
        for item in reversed(self.history):
            if item.get("role") == "user" and item.get("text"):
                return str(item["text"])
        return ""

    def take_input(self) -> tuple[float, list[JsonObject]]:
        audio_s, frames = self.audio_since, self.frames_since
        self.audio_since, self.frames_since = 0.0, []
        return audio_s, frames

    def start_reply(self, turn: UserTurn, in_history: bool = False) -> None:
        """Answer `turn` (after any reply still finishing)."""
        self.realtime_input()
        if turn.kind != "tool":  # a tool result is in the history already, and not a user turn
            self.record.turns += 1
            metrics.TURNS.labels(turn.kind).inc()
            self._add_user_turn(turn, in_history)
        previous = self._task
        if previous is not None and not previous.done():
            self._queued.append(previous)
        self._queued = [t for t in self._queued if not t.done()]
        self._generating = True
        self._task = asyncio.create_task(self._run(turn, previous))

    def _add_user_turn(self, turn: UserTurn, in_history: bool) -> None:
        if not in_history:
            self._add({
                "role": "user", "kind": turn.kind, "text": turn.text or turn.transcript,
                "speech_s": round(turn.speech_s, 3), "audio_s": round(turn.audio_s, 3),
                "images": len(turn.frames),
                "tokens": tokens(turn.audio_s, len(turn.frames), turn.text,
                                 self.setup.image_tokens),
            })
        elif turn.frames:
            self._add({"role": "user", "kind": "frames", "images": len(turn.frames),
                       "tokens": tokens(images=len(turn.frames),
                                         image_tokens=self.setup.image_tokens)})

    async def tool_response(self, responses: list[JsonObject]) -> None:
        for response in responses:
            self.record.tool_responses.append({**response, "t": self.record.elapsed()})
        text = json.dumps(responses)
        self._add({"role": "user", "kind": "tool_response", "responses": responses,
                   "tokens": tokens(text=text)})
        for response in responses:
            call_id = pick(response, "id", None)
            if call_id is None:  # match by name when the client left the id out
                name = pick(response, "name", None)
                calls = {**self._pending_calls, **self._async_calls}
                call_id = next((i for i, c in calls.items() if c["name"] == name), None)
            if call_id in self._pending_calls:  # scheduling is ignored for blocking calls
                del self._pending_calls[call_id]
                self._answers.append(response)
            elif call_id in self._async_calls:
                await self._async_result(str(call_id), response)
        if not self._pending_calls:
            self._answered.set()

    async def _async_result(self, call_id: str, response: JsonObject) -> None:
        """A NON_BLOCKING call's result, scheduled as the response asks (WHEN_IDLE by default)."""
        call = self._async_calls[call_id]
        if not pick(response, "willContinue", False):
            del self._async_calls[call_id]
        scheduling = str(pick(response, "scheduling", None) or "WHEN_IDLE").upper()
        if scheduling == "SILENT":
            return
        if scheduling == "INTERRUPT":
            await self.barge_in(force=True)
        self.start_reply(UserTurn("tool", spoken_result(str(call["name"]), response)))

    # ---- barge-in -----------------------------------------------------------------------

    @property
    def generating(self) -> bool:
        return self._generating

    async def barge_in(self, force: bool = False) -> bool:
        """Cut the reply in flight (and those queued after it); True if something was cut.

        `force`: a NON_BLOCKING result with scheduling INTERRUPT, whatever activityHandling says.
        """
        task = self._task
        if not self._generating or task is None or task.done():
            return False
        if not self.setup.interrupts and not force:
            return False
        self._generating = False
        for cut in [*self._queued, task]:
            cut.cancel()
        for cut in [*self._queued, task]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await cut
        self._queued = []
        self.record.interruptions += 1
        metrics.INTERRUPTIONS.inc()
        cancelled = list(self._pending_calls)
        self._pending_calls.clear()
        if cancelled:
            await self.outbox.send(messages.tool_call_cancellation(cancelled))
        await self.outbox.send(messages.interrupted())
        spoken = "".join(self._spoken)
        self._add({"role": "model", "kind": "reply", "text": spoken, "interrupted": True,
                   "cancelled_calls": cancelled,
                   "tokens": dict(self._response)})
        self.record.replies.append({"text": spoken, "interrupted": True,
                                    "audio_s": round(self._reply_audio_s, 3),
                                    "cancelled_calls": cancelled, "t": self.record.elapsed()})
        await self.outbox.send(messages.turn_complete(usage_metadata(self._prompt,
                                                                     self._response),
                                                      status=self._status()))
        await self.issue_handle()
        return True

    def _status(self) -> str | None:
        """interactionStatus for a turnComplete, if the model sends it: IN_PROGRESS while a
        NON_BLOCKING call has no final result or another reply is queued."""
        if not self.caps.interaction_status:
            return None
        task = self._task
        queued = task is not None and task is not asyncio.current_task() and not task.done()
        return "IN_PROGRESS" if self._async_calls or queued else "IDLE"

    async def stop(self) -> None:
        self._generating = False
        for task in [*self._queued, self._task]:
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    # ---- the reply ----------------------------------------------------------------------

    async def _run(self, turn: UserTurn, previous: asyncio.Task[None] | None) -> None:
        try:
            if previous is not None and not previous.done():
                await asyncio.wait([previous])
            await self._reply(turn)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            _log.exception("reply failed")
            await self.on_failure(e)

    async def _reply(self, turn: UserTurn) -> None:
        self._generating = True  # again, if a reply queued before this one ended
        self._turn_end = time.monotonic()
        self._first_audio_s = None
        self._spoken = []
        self._reply_audio_s = 0.0
        self._response = Counter()
        self._prompt = self._prompt_tokens()
        if self.setup.resumption:
            await self.outbox.send(messages.resumption_update(None))
        if turn.kind == "speech" and self.setup.input_transcription:
            await self.outbox.send(messages.input_transcription(
                turn.transcript, transcription_details(turn, self.setup.transcription)))
        if turn.kind == "speech" and needs_more_input(turn):
            self._generating = False
            await self._finish(reason="NEED_MORE_INPUT", waiting_for_input=True)
            return
        calls = (find_calls(turn.text[:_MAX_CALL_TEXT], self.functions)
                 if turn.text and turn.kind != "tool" else [])
        if calls:
            text = await self._call_tools(calls)
        else:
            text = turn.text if turn.kind == "tool" else describe(turn)
        await self._speak(text, first=not calls)
        self._generating = False
        await self.outbox.send(messages.generation_complete())
        self._add({"role": "model", "kind": "reply", "text": text, "interrupted": False,
                   "tokens": dict(self._response)})
        self.record.replies.append({"text": text, "interrupted": False,
                                    "audio_s": round(self._reply_audio_s, 3),
                                    "first_audio_s": self._first_audio_s,
                                    "t": self.record.elapsed()})
        await self._finish()

    async def _finish(self, reason: str | None = None, waiting_for_input: bool = False) -> None:
        await self.outbox.send(messages.turn_complete(
            usage_metadata(self._prompt, self._response), reason=reason,
            waiting_for_input=waiting_for_input, status=self._status()))
        self._compress()
        await self.issue_handle()

    async def _call_tools(self, calls: list[tuple[str, JsonObject]]) -> str:
        await self._delay_first_byte()
        function_calls: list[JsonObject] = [
            {"id": f"function-call-{secrets.randbelow(10**19)}", "name": name, "args": args}
            for name, args in calls]
        self._pending_calls = {str(c["id"]): c for c in function_calls
                               if c["name"] not in self.non_blocking}
        started = [c for c in function_calls if c["name"] in self.non_blocking]
        self._async_calls.update({str(c["id"]): c for c in started})
        self._answers = []
        self._answered = asyncio.Event()
        for call in function_calls:
            self.record.tool_calls.append({**call, "t": self.record.elapsed()})
        text = json.dumps(function_calls)
        call_tokens = tokens(text=text)
        self._response.update(call_tokens)
        self._add({"role": "model", "kind": "tool_call", "calls": function_calls,
                   "tokens": call_tokens})
        await self.outbox.send(messages.tool_call(function_calls))
        if self._pending_calls:
            await self._answered.wait()
        # The tool results are part of the prompt for what the model says next.
        self._prompt = self._prompt_tokens()
        said = [spoken_result(str(pick(a, "name", "")), a) for a in self._answers]
        said += [f"I started {c['name']}." for c in started]  # its result comes later
        return " ".join(said)

    async def _delay_first_byte(self) -> None:
        if self.settings.reply_delay_ms > 0:
            await asyncio.sleep(self.settings.reply_delay_ms / 1000)

    async def _pace(self, t0: float, media_s: float) -> None:
        pace = self.settings.pace
        wait = t0 + media_s / pace - time.monotonic() if pace > 0 else 0.0
        await asyncio.sleep(max(0.0, wait))

    async def _speak(self, text: str, first: bool) -> None:
        fragments = re.findall(r"\S+\s*", text.strip())
        if first:
            await self._delay_first_byte()
        if not self.setup.audio_out:
            t0 = time.monotonic()
            for i in range(0, len(fragments), _TEXT_FRAGMENT_WORDS):
                await self._pace(t0, i // _TEXT_FRAGMENT_WORDS * _TEXT_FRAGMENT_S)
                piece = "".join(fragments[i:i + _TEXT_FRAGMENT_WORDS])
                await self.outbox.send(messages.text_part(piece))
                self._spoken.append(piece)
                self._response.update(tokens(text=piece))
            return
        pcm = await self.speaker.synthesize(text)
        step = max(2, OUT_RATE * 2 * self.settings.audio_chunk_ms // 1000 // 2 * 2)
        chunks = [pcm[i:i + step] for i in range(0, len(pcm), step)] or [b""]
        t0 = time.monotonic()
        said = 0
        for i, chunk in enumerate(chunks):
            await self._pace(t0, self._reply_audio_s)
            if self._first_audio_s is None:
                self._first_audio_s = round(time.monotonic() - self._turn_end, 4)
            await self.outbox.send(messages.audio_chunk(chunk))
            seconds = len(chunk) / 2 / OUT_RATE
            self._reply_audio_s += seconds
            self._response["AUDIO"] = audio_tokens(self._reply_audio_s)
            due = -(-(i + 1) * len(fragments) // len(chunks))
            if due > said:
                piece = "".join(fragments[said:due])
                said = due
                self._spoken.append(piece)
                if self.setup.output_transcription:
                    await self.outbox.send(messages.output_transcription(piece))
