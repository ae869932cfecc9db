"""Gemini Live frames, both ways: client frames -> actions, server events -> client frames.

Pure functions, no I/O: each client frame becomes a list of actions, or raises ProtocolError
with the close code and reason the client will see. Downlink events are parsed (never
substring-matched) only when they are events; audio is framed without any parsing.
"""

from __future__ import annotations

import functools
import json
import warnings
from dataclasses import dataclass
from typing import Any

from google.genai import types
from pydantic import BaseModel, ValidationError

from livebus import b64, closecodes
from livebus.v1 import bus_pb2

AUDIO_MIME = "audio/pcm"
AUDIO_RATE = 16000
MIN_RATE, MAX_RATE = 8000, 48000  # input PCM rates accepted (resampled to AUDIO_RATE)
IMAGE_MIMES = frozenset({"image/jpeg", "image/png", "image/webp"})
# protobuf's default recursion limit, which Google's own JSON parsing applies.
MAX_DEPTH = 100
MAX_CONTAINERS = 100_000  # objects and arrays in one message
MAX_CHUNKS = 32           # media chunks in one realtime_input message

TOP_LEVEL = {
    "realtime_input": "realtime_input", "realtimeInput": "realtime_input",
    "client_content": "client_content", "clientContent": "client_content",
    "tool_response": "tool_response", "toolResponse": "tool_response",
}
REALTIME_FIELDS = {
    "audio": "audio", "video": "video", "text": "text",
    "media_chunks": "media_chunks", "mediaChunks": "media_chunks",
    "activity_start": "activity_start", "activityStart": "activity_start",
    "activity_end": "activity_end", "activityEnd": "activity_end",
    "audio_stream_end": "audio_stream_end", "audioStreamEnd": "audio_stream_end",
}


class ProtocolError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = closecodes.clamp_reason(reason)


def invalid(reason: str) -> ProtocolError:
    return ProtocolError(closecodes.INVALID_ARGUMENT, reason)


@dataclass(frozen=True)
class Audio:
    pcm: bytes
    rate: int = AUDIO_RATE  # the client's; the session resamples to AUDIO_RATE (resample.py)


@dataclass(frozen=True)
class Video:
    data: bytes
    mime: str


@dataclass(frozen=True)
class Control:
    event: bus_pb2.ClientEvent


@dataclass(frozen=True)
class Note:
    """Something odd but not fatal in a client message: the session logs it once."""

    reason: str


Action = Audio | Video | Control | Note


def _unknown(name: str) -> ProtocolError:
    return invalid(f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.')


# -- JSON with bounded nesting --------------------------------------------------------------

def value_problem(value: Any) -> str | None:
    """Why a parsed value nests deeper than MAX_DEPTH or holds more than MAX_CONTAINERS objects
    and arrays; it visits only containers, never the strings (a frame's base64)."""
    todo: list[tuple[Any, int]] = [(value, 1)]
    containers = 0
    while todo:
        item, depth = todo.pop()
        if depth > MAX_DEPTH:
            return f"nesting deeper than {MAX_DEPTH}"
        containers += 1
        if containers > MAX_CONTAINERS:
            return f"more than {MAX_CONTAINERS} objects and arrays"
        children = item.values() if isinstance(item, dict) else item
        todo.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return None


def _text(frame: str | bytes) -> str:
    try:
        return frame.decode() if isinstance(frame, bytes) else frame
    except UnicodeDecodeError:
        raise invalid("Invalid JSON payload received: not UTF-8") from None


def _object(text: str) -> dict[str, Any]:
    try:
        msg = json.loads(text)
    except json.JSONDecodeError as e:
        raise invalid(f"Invalid JSON payload received: {e.msg}") from None
    except (RecursionError, ValueError):  # ValueError: e.g. an integer of 5,000 digits
        raise invalid("Invalid JSON payload received") from None
    if not isinstance(msg, dict):
        raise invalid("Invalid JSON payload received: expected an object")
    return msg


def _bounded(text: str, value: Any) -> None:
    """Nesting bounded before a value goes to code that recurses (the SDK's types, json.dumps).

    Two counts over the text decide for almost every message; only one with more brackets than
    MAX_DEPTH is walked."""
    if text.count("[") + text.count("{") > MAX_DEPTH:
        problem = value_problem(value)
        if problem is not None:
            raise invalid(f"Invalid JSON payload received: {problem}")


def load_json(frame: str | bytes) -> dict[str, Any]:
    """A JSON object with bounded nesting, or ProtocolError 1007."""
    text = _text(frame)
    msg = _object(text)
    _bounded(text, msg)
    return msg


# -- setup ----------------------------------------------------------------------------------

def parse_setup(frame: str | bytes) -> dict[str, Any]:
    """The first frame must be exactly {"setup": {...}} with a model."""
    msg = load_json(frame)
    extra = [k for k in msg if k != "setup"]
    if "setup" not in msg:
        raise invalid("The first message must be a setup message")
    if extra:
        raise _unknown(extra[0])
    setup = msg["setup"]
    if not isinstance(setup, dict):
        raise invalid("setup must be an object")
    if not isinstance(setup.get("model"), str) or not setup["model"]:
        raise invalid("setup.model is required")
    return setup


def normalize_model(model: str) -> str:
    return model if model.startswith("models/") else f"models/{model}"


# -- uplink ---------------------------------------------------------------------------------

# A session sends one mime type 50 times a second; a refusal raises, so it is never kept.
@functools.lru_cache(maxsize=64)
def check_audio_mime(mime: str) -> int:
    """The sample rate of a PCM16 mime type (`audio/pcm` alone is 16 kHz), else 1007."""
    parts = [p.strip() for p in mime.split(";")]
    if parts[0] != AUDIO_MIME:
        raise invalid(f"Unsupported audio mime type {mime[:40]!r}: send audio/pcm;rate=N, "
                      f"N from {MIN_RATE} to {MAX_RATE}")
    rate = AUDIO_RATE
    for p in parts[1:]:
        k, _, v = p.partition("=")
        if k.strip() == "rate":
            v = v.strip()
            if not (v.isascii() and v.isdigit() and len(v) <= 6) or \
                    not MIN_RATE <= int(v) <= MAX_RATE:
                raise invalid(f"Unsupported audio rate in {mime[:40]!r}: send PCM16 at "
                              f"{MIN_RATE} to {MAX_RATE} Hz")
            rate = int(v)
    return rate


def _blob(obj: Any, where: str) -> tuple[bytes, str]:
    if not isinstance(obj, dict):
        raise invalid(f"{where} must be an object")
    mime = obj.get("mime_type", obj.get("mimeType"))
    data = obj.get("data")
    if not isinstance(mime, str) or not isinstance(data, str):
        raise invalid(f"{where} needs data and mime_type")
    try:
        return b64.decode(data), mime
    except ValueError:
        raise invalid(f"{where}.data is not valid base64") from None


def _media(data: bytes, mime: str, max_frame: int, where: str) -> Action:
    if mime.startswith("audio/"):
        rate = check_audio_mime(mime)
        if len(data) % 2:
            raise invalid(f"{where}: PCM16 audio must have an even number of bytes")
        return Audio(data, rate)
    base = mime.split(";")[0].strip()
    if base in IMAGE_MIMES:
        if len(data) > max_frame:
            raise ProtocolError(closecodes.TOO_BIG,
                                f"{where}: frame of {len(data)} bytes exceeds {max_frame}")
        return Video(data, base)
    raise invalid(f"Unsupported mime type {mime!r} in {where}")


def decoded_media(media: Audio | Video, max_frame: int) -> Audio | Video:
    """Media a transport decoded itself, held to what a realtimeInput of it must meet."""
    if isinstance(media, Audio):
        if len(media.pcm) % 2 or not MIN_RATE <= media.rate <= MAX_RATE:
            raise invalid("PCM16 audio must have an even number of bytes and a valid rate")
        return media
    if media.mime not in IMAGE_MIMES:
        raise invalid(f"Unsupported mime type {media.mime[:40]!r}")
    if len(media.data) > max_frame:
        raise ProtocolError(closecodes.TOO_BIG,
                            f"frame of {len(media.data)} bytes exceeds {max_frame}")
    return media


def _ctl(**kwargs: Any) -> Control:
    return Control(bus_pb2.ClientEvent(**kwargs))


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _validate(model: type[BaseModel], body: dict[str, Any], where: str) -> None:
    """Check a message against the SDK's own type for it, as the bridge will read it.

    Unknown enum values warn in the SDK (and numbers or objects raise from its enum lookup):
    both are refused here with 1007 instead of surfacing later as an internal error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            model.model_validate(body)
        except ValidationError as e:
            first = e.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            if first["type"] == "extra_forbidden":
                raise _unknown(f"{where}.{loc}") from None
            raise invalid(f"Invalid value at '{where}.{loc}'") from None
        except Exception:  # the SDK's enum lookup on a number, an object, an unknown name
            raise invalid(f"Invalid value in '{where}'") from None


def _tool_response(body: dict[str, Any]) -> list[Action]:
    _validate(types.LiveClientToolResponse, body, "tool_response")
    actions: list[Action] = [_ctl(tool_response_json=_dumps(body))]
    responses = body.get("functionResponses", body.get("function_responses")) or []
    if any(not r.get("id") for r in responses):
        actions.append(Note("toolResponse without an id"))
    return actions


def parse_client_frame(frame: str | bytes, max_frame: int,
                       max_chunks: int = MAX_CHUNKS) -> list[Action]:
    """Media is never walked (the realtime fields are type-checked, nothing recurses into
    them): a 60,000-chunk message is refused as soon as it is parsed."""
    text = _text(frame)
    msg = _object(text)
    if len(msg) != 1:
        if not msg:
            raise invalid("Empty message")
        known = [k for k in msg if k in TOP_LEVEL]
        unknown = [k for k in msg if k not in TOP_LEVEL]
        if unknown:
            raise _unknown(unknown[0])
        raise invalid(f"One message carries one of {sorted(set(TOP_LEVEL.values()))}, "
                      f"got {known}")
    key, body = next(iter(msg.items()))
    kind = TOP_LEVEL.get(key)
    if kind is None:
        if key == "setup":
            raise invalid("setup may only be sent once, as the first message")
        raise _unknown(key)
    if not isinstance(body, dict):
        raise invalid(f"{key} must be an object")
    if kind == "client_content":
        _bounded(text, body)
        _validate(types.LiveClientContent, body, "client_content")
        return [_ctl(client_content_json=_dumps(body))]
    if kind == "tool_response":
        _bounded(text, body)
        return _tool_response(body)
    return _realtime(body, max_frame, max_chunks)


def _media_chunks(value: Any, max_frame: int, max_chunks: int) -> list[Action]:
    if not isinstance(value, list):
        raise invalid("realtime_input.media_chunks must be a list")
    if len(value) > max_chunks:  # before decoding any of them
        raise ProtocolError(closecodes.RATE_LIMITED,
                            f"rate limit exceeded: {len(value)} media chunks in one message "
                            f"(at most {max_chunks})")
    actions: list[Action] = []
    for i, chunk in enumerate(value):
        where = f"realtime_input.media_chunks[{i}]"
        data, mime = _blob(chunk, where)
        actions.append(_media(data, mime, max_frame, where))
    return actions


def _realtime_field(field: str, value: Any, max_frame: int) -> Action | None:
    where = f"realtime_input.{field}"
    if field in ("audio", "video"):
        data, mime = _blob(value, where)
        if not mime.startswith("audio/" if field == "audio" else "image/"):
            raise invalid(f"{where} has mime type {mime!r}")
        return _media(data, mime, max_frame, where)
    if field == "text":
        if not isinstance(value, str):
            raise invalid("realtime_input.text must be a string")
        return _ctl(text=value)
    if field in ("activity_start", "activity_end"):
        if not isinstance(value, dict) or value:
            raise invalid(f"{where} must be an empty object")
        return _ctl(**{field: True})
    if not isinstance(value, bool):  # audio_stream_end
        raise invalid(f"{where} must be a boolean")
    return _ctl(audio_stream_end=True) if value else None


def _realtime(body: dict[str, Any], max_frame: int, max_chunks: int) -> list[Action]:
    actions: list[Action] = []
    for name, value in body.items():
        field = REALTIME_FIELDS.get(name)
        if field is None:
            raise _unknown(f"realtime_input.{name}")
        if field == "media_chunks":
            actions += _media_chunks(value, max_frame, max_chunks)
            continue
        action = _realtime_field(field, value, max_frame)
        if action is not None:
            actions.append(action)
    return actions


def chunk_count(actions: list[Action]) -> int:
    return sum(1 for a in actions if isinstance(a, Audio | Video))


def publish_count(actions: list[Action]) -> int:
    return sum(1 for a in actions if not isinstance(a, Note))


# -- downlink -------------------------------------------------------------------------------

DEFAULT_AUDIO_OUT_MIME = "audio/pcm;rate=24000"
_AUDIO_HEAD = '{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":'
_AUDIO_MID = ',"data":"'
_AUDIO_TAIL = '"}}]}}}'
TURN_COMPLETE = '{"serverContent":{"turnComplete":true}}'


def audio_message(mime: str, pcm: bytes) -> str:
    """One reply audio chunk as the client's serverContent message (no JSON library)."""
    return _AUDIO_HEAD + json.dumps(mime) + _AUDIO_MID + b64.encode(pcm) + _AUDIO_TAIL


@dataclass(frozen=True)
class ServerMessage:
    text: str            # what the client receives
    turn_complete: bool  # serverContent.turnComplete
    reply_over: bool     # the model's reply ended: turnComplete or interrupted
    interrupted: bool = False  # serverContent.interrupted: the client stops playing the reply


def server_message(message_json: bytes, handle: str) -> ServerMessage:
    """A server event for the client: a resumption update carries livebus's handle instead of
    the upstream's; anything else goes out byte for byte."""
    text = message_json.decode(errors="replace")
    try:
        msg = json.loads(text)
    except (ValueError, RecursionError):
        return ServerMessage(text, False, False)
    if not isinstance(msg, dict):
        return ServerMessage(text, False, False)
    sc = msg.get("serverContent")
    complete = isinstance(sc, dict) and sc.get("turnComplete") is True
    interrupted = isinstance(sc, dict) and sc.get("interrupted") is True
    update = msg.get("sessionResumptionUpdate")
    if isinstance(update, dict) and update.get("newHandle"):
        update["newHandle"] = handle
        text = json.dumps(msg, separators=(",", ":"))
    return ServerMessage(text, complete, complete or interrupted, interrupted)
