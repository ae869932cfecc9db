"""What a user turn holds and what the emulated model makes of it: the reply text, tool calls."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Literal

from livebus.serverwire import duration
from livebus_emulator.events import JsonObject
from livebus_emulator.images import image_size
from livebus_emulator.usage import IMAGE_TOKENS, audio_tokens, text_tokens
from livebus_emulator.wire import decode_b64, pick

_MAX_ECHO = 300  # the reply repeats at most this much of what the user wrote or said
_MAX_SPOKEN_JSON = 1000
_MIN_SPEECH_S = 0.1  # a shorter activity is not a turn the model answers


@dataclass
class UserTurn:
    kind: Literal["speech", "text", "tool"]  # tool: the result of a NON_BLOCKING call
    text: str  # typed text, or the transcript override of a speech turn ("" if none)
    speech_s: float = 0.0
    audio_s: float = 0.0  # all audio received since the previous turn
    frames: list[JsonObject] = field(default_factory=list)  # frames since the previous turn
    transcript: str = ""  # inputTranscription to send (speech turns)
    start_s: float = 0.0  # audio time the speech started (speech turns)


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


def tokens(audio_s: float = 0.0, images: int = 0, text: str = "",
           image_tokens: int = IMAGE_TOKENS) -> dict[str, int]:
    """`image_tokens`: one image's cost at the session's media resolution (usage.py)."""
    tokens = {"AUDIO": audio_tokens(audio_s), "IMAGE": images * image_tokens,
              "TEXT": text_tokens(text)}
    return {k: v for k, v in tokens.items() if v}


def needs_more_input(turn: UserTurn) -> bool:
    """A speech turn the model waits on (turnCompleteReason NEED_MORE_INPUT, waitingForInput):
    a blip of activity, or a transcript that trails off ("..." at the end)."""
    return turn.speech_s < _MIN_SPEECH_S or turn.text.rstrip().endswith(("...", "\u2026"))


def transcription_details(turn: UserTurn, config: JsonObject) -> JsonObject:
    """What a final inputTranscription carries beside `text`, by the setup's transcription
    config: `finished`; `languageCode` (the first of `languageCodes`); `speakerLabel` with
    `diarization`; `startOffset`/`endOffset` and `words` spread over the speech with
    `wordTimestamp`."""
    details: JsonObject = {"finished": True}
    codes = pick(config, "languageCodes", None)
    if isinstance(codes, list) and codes and isinstance(codes[0], str):
        details["languageCode"] = codes[0]
    if pick(config, "diarization", False):
        details["speakerLabel"] = "spk_1"
    if pick(config, "wordTimestamp", False):
        start, end = turn.start_s, turn.start_s + turn.speech_s
        words = turn.transcript.split()
        step = (end - start) / max(1, len(words))
        details["startOffset"], details["endOffset"] = duration(start), duration(end)
        details["words"] = [{"word": w, "startOffset": duration(start + i * step),
                             "endOffset": duration(start + (i + 1) * step)}
                            for i, w in enumerate(words)]
    return details


def spoken_result(name: str, response: JsonObject) -> str:
    result = json.dumps(pick(response, "response", {}))
    if len(result) > _MAX_SPOKEN_JSON:
        result = result[:_MAX_SPOKEN_JSON] + "..."
    return f"The tool {name} returned {result}."
