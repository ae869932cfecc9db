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
from dataclasses import dataclass, field
from typing import Literal

from livebus_emulator import messages, metrics
from livebus_emulator.handles import HandleStore
from livebus_emulator.images import image_size
from livebus_emulator.outbox import Outbox
from livebus_emulator.records import ConnectionRecord
from livebus_emulator.settings import EmulatorSettings
from livebus_emulator.speech import OUT_RATE, Speaker
from livebus_emulator.usage import IMAGE_TOKENS, audio_tokens, text_tokens, usage_metadata
from livebus_emulator.wire import (
    ClientContent,
    JsonObject,
    Setup,
    content_text,
    decode_b64,
    pick,
)

_log = logging.getLogger(__name__)
_MAX_SPOKEN_JSON = 1000
_MAX_ECHO = 300  # the reply repeats at most this much of what the user wrote or said
_MAX_CALL_TEXT = 64 * 1024  # tool calls are looked for in this much of the user's text
_TEXT_FRAGMENT_WORDS = 4
_TEXT_FRAGMENT_S = 0.05


@dataclass
class UserTurn:
    kind: Literal["speech", "text"]
    text: str  # typed text, or the transcript override of a speech turn ("" if none)
    speech_s: float = 0.0
    audio_s: float = 0.0  # all audio received since the previous turn
    frames: list[JsonObject] = field(default_factory=list)  # frames since the previous turn
    transcript: str = ""  # inputTranscription to send (speech turns)


def _identifier_like(name: str) -> bool:
    """`get_time`, `lookup2`, `getTime`: names no sentence contains by chance."""
    return "_" in name or any(c.isdigit() for c in name) or any(c.isupper() for c in name[1:])


def find_calls(text: str, names: list[str]) -> list[tuple[str, JsonObject]]:
    """Declared function names in `text`, in order, each with the JSON object after it.

    A name written like an identifier is a call wherever it appears; a plain word (a tool
    named `remember`) only when followed by `{...}` or `(`, so ordinary sentences
    ("remember the blue bicycle") do not call tools by accident.
    """
    hits: list[tuple[int, str, JsonObject]] = []
    for name in dict.fromkeys(names):
        for m in re.finditer(rf"(?<![\w]){re.escape(name)}(?![\w])", text):
            after = text[m.end():].lstrip(" \t\r\n:")
            if not _identifier_like(name) and not after.startswith(("{", "(")):
                continue
            hits.append((m.start(), name, _args_after(text, m.end())))
    return [(name, args) for _, name, args in sorted(hits, key=lambda h: h[0])]


def _args_after(text: str, pos: int) -> JsonObject:
    rest = text[pos:]
    stripped = rest.lstrip(" \t\r\n:(")
    if not stripped.startswith("{"):
        return {}
    try:
        value, _ = json.JSONDecoder().raw_decode(stripped)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _echo(text: str) -> str:
    return text if len(text) <= _MAX_ECHO else text[:_MAX_ECHO].rstrip() + "..."


def describe(turn: UserTurn) -> str:
    """What the emulated model says back: what it received, so a person can check the pipe."""
    frames = turn.frames
    seen = ""
    if frames:
        noun = "frame" if len(frames) == 1 else "frames"
        last = frames[-1]
        size = f"{last['width']} by {last['height']}" if last.get("width") else ""
        which = "the last " if len(frames) > 1 else ""
        seen = f"{len(frames)} {noun}" + (f", {which}{size}" if size else "")
    if turn.kind == "text":
        return f"You wrote: {_echo(turn.text)}" + (f". I also saw {seen}." if seen else "")
    if turn.text:
        return f"You said: {_echo(turn.text)}" + (f". I also saw {seen}." if seen else "")
    heard = f"I heard {turn.speech_s:.1f} seconds of speech"
    return heard + (f" and saw {seen}." if seen else ".")


def content_images(turn: JsonObject) -> list[JsonObject]:
    """Images in a content turn, described like video frames (size, bytes, mime)."""
    found: list[JsonObject] = []
    for part in pick(turn, "parts", []) or []:
        blob = pick(part, "inline_data") if isinstance(part, dict) else None
        if not isinstance(blob, dict):
            continue
        mime = str(pick(blob, "mime_type", "") or "")
        if not mime.startswith("image/"):
            continue
        try:
            data = decode_b64(pick(blob, "data", ""), "inline_data.data")
        except Exception:
            continue
        size = image_size(data)
        found.append({"width": size[0] if size else None, "height": size[1] if size else None,
                      "bytes": len(data), "mime": mime})
    return found


def _tokens(audio_s: float = 0.0, images: int = 0, text: str = "") -> dict[str, int]:
    tokens = {"AUDIO": audio_tokens(audio_s), "IMAGE": images * IMAGE_TOKENS,
              "TEXT": text_tokens(text)}
    return {k: v for k, v in tokens.items() if v}


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
        self.realtime_started = False
        # Input since the previous turn.
        self.audio_since = 0.0
        self.frames_since: list[JsonObject] = []
        # The reply in flight.
        self._task: asyncio.Task[None] | None = None
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

    # ---- history ------------------------------------------------------------------------

    def restore(self, history: list[JsonObject]) -> None:
        self.history.extend(history)

    def _add(self, item: JsonObject) -> None:
        item.setdefault("t", self.record.elapsed())
        self.history.append(item)

    def _prompt_tokens(self) -> Counter[str]:
        total: Counter[str] = Counter(_tokens(text=self.system_text))
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
                       "tokens": _tokens(text=text, images=len(pictures))})
        if content.turn_complete:
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
        self.realtime_started = True
        self.record.turns += 1
        metrics.TURNS.labels(turn.kind).inc()
        if not in_history:
            self._add({
                "role": "user", "kind": turn.kind, "text": turn.text or turn.transcript,
                "speech_s": round(turn.speech_s, 3), "audio_s": round(turn.audio_s, 3),
                "images": len(turn.frames),
                "tokens": _tokens(turn.audio_s, len(turn.frames), turn.text),
            })
        elif turn.frames:
            self._add({"role": "user", "kind": "frames", "images": len(turn.frames),
                       "tokens": _tokens(images=len(turn.frames))})
        previous = self._task
        self._generating = True
        self._task = asyncio.create_task(self._run(turn, previous))

    async def tool_response(self, responses: list[JsonObject]) -> None:
        for response in responses:
            self.record.tool_responses.append({**response, "t": self.record.elapsed()})
        text = json.dumps(responses)
        self._add({"role": "user", "kind": "tool_response", "responses": responses,
                   "tokens": _tokens(text=text)})
        for response in responses:
            call_id = pick(response, "id", None)
            if call_id is None:  # match by name when the client left the id out
                name = pick(response, "name", None)
                call_id = next((i for i, c in self._pending_calls.items() if c["name"] == name),
                               None)
            if call_id in self._pending_calls:
                del self._pending_calls[call_id]
                self._answers.append(response)
        if not self._pending_calls:
            self._answered.set()

    # ---- barge-in -----------------------------------------------------------------------

    @property
    def generating(self) -> bool:
        return self._generating

    async def barge_in(self) -> bool:
        """Cut the reply in flight, if any; True if something was interrupted."""
        task = self._task
        if not self._generating or task is None or task.done():
            return False
        if not self.setup.interrupts:
            return False
        self._generating = False
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
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
                                                                     self._response)))
        await self.issue_handle()
        return True

    async def stop(self) -> None:
        task = self._task
        self._generating = False
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
        self._turn_end = time.monotonic()
        self._first_audio_s = None
        self._spoken = []
        self._reply_audio_s = 0.0
        self._response = Counter()
        self._prompt = self._prompt_tokens()
        if self.setup.resumption:
            await self.outbox.send(messages.resumption_update(None))
        if turn.kind == "speech" and self.setup.input_transcription:
            await self.outbox.send(messages.input_transcription(turn.transcript))
        calls = find_calls(turn.text[:_MAX_CALL_TEXT], self.functions) if turn.text else []
        if calls:
            text = await self._call_tools(calls)
        else:
            text = describe(turn)
        await self._speak(text, first=not calls)
        self._generating = False
        await self.outbox.send(messages.generation_complete())
        self._add({"role": "model", "kind": "reply", "text": text, "interrupted": False,
                   "tokens": dict(self._response)})
        self.record.replies.append({"text": text, "interrupted": False,
                                    "audio_s": round(self._reply_audio_s, 3),
                                    "first_audio_s": self._first_audio_s,
                                    "t": self.record.elapsed()})
        await self.outbox.send(messages.turn_complete(usage_metadata(self._prompt,
                                                                     self._response)))
        self._compress()
        await self.issue_handle()

    async def _call_tools(self, calls: list[tuple[str, JsonObject]]) -> str:
        await self._delay_first_byte()
        function_calls: list[JsonObject] = [
            {"id": f"function-call-{secrets.randbelow(10**19)}", "name": name, "args": args}
            for name, args in calls]
        self._pending_calls = {str(c["id"]): c for c in function_calls}
        self._answers = []
        self._answered = asyncio.Event()
        for call in function_calls:
            self.record.tool_calls.append({**call, "t": self.record.elapsed()})
        text = json.dumps(function_calls)
        call_tokens = _tokens(text=text)
        self._response.update(call_tokens)
        self._add({"role": "model", "kind": "tool_call", "calls": function_calls,
                   "tokens": call_tokens})
        await self.outbox.send(messages.tool_call(function_calls))
        await self._answered.wait()
        # The tool results are part of the prompt for what the model says next.
        self._prompt = self._prompt_tokens()
        said = []
        for answer in self._answers:
            result = json.dumps(pick(answer, "response", {}))
            if len(result) > _MAX_SPOKEN_JSON:
                result = result[:_MAX_SPOKEN_JSON] + "..."
            said.append(f"The tool {pick(answer, 'name', '')} returned {result}.")
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
                self._response.update(_tokens(text=piece))
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
