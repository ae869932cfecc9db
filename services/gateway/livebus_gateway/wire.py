"""Client frames of the Gemini Live protocol -> what the gateway does with them.

Pure functions, no I/O: each frame becomes a list of actions, or raises ProtocolError
with the close code and reason the client will see.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from livebus import b64, closecodes
from livebus.v1 import bus_pb2

AUDIO_MIME = "audio/pcm"
AUDIO_RATE = 16000
IMAGE_MIMES = frozenset({"image/jpeg", "image/png", "image/webp"})

SETUP_KEYS = ("setup",)
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


@dataclass(frozen=True)
class Video:
    data: bytes
    mime: str


@dataclass(frozen=True)
class Control:
    event: bus_pb2.ClientEvent


Action = Audio | Video | Control


def _unknown(name: str) -> ProtocolError:
    return invalid(f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.')


def load_json(frame: str | bytes) -> dict[str, Any]:
    try:
        msg = json.loads(frame)
    except json.JSONDecodeError as e:
        raise invalid(f"Invalid JSON payload received: {e.msg}") from None
    except UnicodeDecodeError:
        raise invalid("Invalid JSON payload received: not UTF-8") from None
    if not isinstance(msg, dict):
        raise invalid("Invalid JSON payload received: expected an object")
    return msg


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


def check_audio_mime(mime: str) -> None:
    parts = [p.strip() for p in mime.split(";")]
    if parts[0] != AUDIO_MIME:
        raise invalid(f"Unsupported audio mime type {mime!r}: send audio/pcm;rate=16000")
    for p in parts[1:]:
        k, _, v = p.partition("=")
        if k.strip() == "rate" and v.strip() != str(AUDIO_RATE):
            raise invalid(f"Unsupported audio rate in {mime!r}: send 16000 Hz PCM16")


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
        check_audio_mime(mime)
        if len(data) % 2:
            raise invalid(f"{where}: PCM16 audio must have an even number of bytes")
        return Audio(data)
    base = mime.split(";")[0].strip()
    if base in IMAGE_MIMES:
        if len(data) > max_frame:
            raise ProtocolError(closecodes.TOO_BIG,
                                f"{where}: frame of {len(data)} bytes exceeds {max_frame}")
        return Video(data, base)
    raise invalid(f"Unsupported mime type {mime!r} in {where}")


def _ctl(**kwargs: Any) -> Control:
    return Control(bus_pb2.ClientEvent(**kwargs))


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def parse_client_frame(frame: str | bytes, max_frame: int) -> list[Action]:
    msg = load_json(frame)
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
        return [_ctl(client_content_json=_dumps(body))]
    if kind == "tool_response":
        return [_ctl(tool_response_json=_dumps(body))]
    return _realtime(body, max_frame)


def _realtime(body: dict[str, Any], max_frame: int) -> list[Action]:
    actions: list[Action] = []
    for name, value in body.items():
        field = REALTIME_FIELDS.get(name)
        if field is None:
            raise _unknown(f"realtime_input.{name}")
        if field == "audio":
            data, mime = _blob(value, "realtime_input.audio")
            if not mime.startswith("audio/"):
                raise invalid(f"realtime_input.audio has mime type {mime!r}")
            actions.append(_media(data, mime, max_frame, "realtime_input.audio"))
        elif field == "video":
            data, mime = _blob(value, "realtime_input.video")
            if not mime.startswith("image/"):
                raise invalid(f"realtime_input.video has mime type {mime!r}")
            actions.append(_media(data, mime, max_frame, "realtime_input.video"))
        elif field == "media_chunks":
            if not isinstance(value, list):
                raise invalid("realtime_input.media_chunks must be a list")
            for i, chunk in enumerate(value):
                where = f"realtime_input.media_chunks[{i}]"
                data, mime = _blob(chunk, where)
                actions.append(_media(data, mime, max_frame, where))
        elif field == "text":
            if not isinstance(value, str):
                raise invalid("realtime_input.text must be a string")
            actions.append(_ctl(text=value))
        elif field == "activity_start":
            actions.append(_ctl(activity_start=True))
        elif field == "activity_end":
            actions.append(_ctl(activity_end=True))
        elif field == "audio_stream_end" and value:
            actions.append(_ctl(audio_stream_end=True))
    return actions
