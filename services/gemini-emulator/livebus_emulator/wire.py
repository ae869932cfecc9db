"""Client -> server frames: JSON, field spellings, base64, and parsing them into events.

Protobuf JSON accepts both the lowerCamelCase and the original snake_case name of every field,
and both base64 alphabets; so does this parser. Anything it cannot read raises `WireError`,
which the session turns into a 1007 close with the same kind of reason Google gives.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from livebus import b64
from livebus.models import ModelCapabilities, capabilities
from livebus_emulator.events import (
    ActivityEnd,
    ActivityStart,
    Audio,
    AudioStreamEnd,
    ClientContent,
    ContextUpdate,
    Event,
    JsonObject,
    Setup,
    Text,
    ToolResponse,
    VadConfig,
    Video,
)

_CAMEL_RE = re.compile(r"(?<!^)(?=[A-Z])")


class WireError(Exception):
    """A client frame Google would reject with 1007 (invalid argument)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def snake(camel: str) -> str:
    return _CAMEL_RE.sub("_", camel).lower()


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def pick(obj: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """`obj[name]` under either spelling (`name` may be given in either)."""
    for key in (name, camel(name), snake(name)):
        if key in obj:
            return obj[key]
    return default


def check_fields(obj: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    """Reject unknown fields like Google does (`allowed` holds camelCase names)."""
    for key in obj:
        if camel(key) not in allowed:
            at = f" at '{where}'" if where else ""
            raise WireError(f'Invalid JSON payload received. Unknown name "{key}"{at}: '
                            "Cannot find field.")


def as_object(value: Any, where: str) -> JsonObject:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise WireError(f"Invalid JSON payload received. Invalid value at '{where}': "
                        f"expected an object, got {type(value).__name__}.")
    return value


def decode_b64(value: Any, where: str) -> bytes:
    """Bytes from standard or URL-safe base64, with or without padding."""
    if not isinstance(value, str):
        raise WireError(f"Invalid value at '{where}' (TYPE_BYTES), expected a base64 string.")
    try:
        return b64.decode(value)
    except ValueError:
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise WireError(f"Invalid value at '{where}' (TYPE_BYTES), "
                        f'Base64 decoding failed for "{shown}"') from None


SCHEDULING = frozenset({"SCHEDULING_UNSPECIFIED", "SILENT", "WHEN_IDLE", "INTERRUPT"})
TURN_COVERAGE = frozenset({"TURN_COVERAGE_UNSPECIFIED", "TURN_INCLUDES_ONLY_ACTIVITY",
                           "TURN_INCLUDES_ALL_INPUT", "TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO"})
# Gemini 3 mode (models without legacy shapes, see livebus.models): the reasons it closes with.
NO_MEDIA_CHUNKS = ("realtime_input.media_chunks is not supported by this model. "
                   "Use realtime_input.audio or realtime_input.video instead.")
NO_CLIENT_CONTENT = ("client_content is only supported as initial history "
                     "(setup.history_config). Use realtime_input.text instead.")
NO_SCHEDULING_IN_RESPONSE = ("Invalid value at 'tool_response.function_responses[{i}].response':"
                             " scheduling must be set on the FunctionResponse itself.")


_TOP = frozenset({"setup", "clientContent", "realtimeInput", "toolResponse", "contextUpdate"})
_REALTIME = frozenset({"mediaChunks", "audio", "video", "text", "activityStart", "activityEnd",
                       "audioStreamEnd"})
_SETUP = frozenset({
    "model", "generationConfig", "systemInstruction", "tools", "realtimeInputConfig",
    "sessionResumption", "contextWindowCompression", "inputAudioTranscription",
    "outputAudioTranscription", "proactivity", "explicitVadSignal", "historyConfig",
    "avatarConfig", "safetySettings", "labels",
})
_CLIENT_CONTENT = frozenset({"turns", "turnComplete"})
_TOOL_RESPONSE = frozenset({"functionResponses"})
_BLOB = frozenset({"data", "mimeType", "displayName"})


def parse_frame(frame: str | bytes) -> JsonObject:
    try:
        message = json.loads(frame)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise WireError(f"Invalid JSON payload received. {e.__class__.__name__}: {e}") from e
    if not isinstance(message, dict):
        raise WireError("Invalid JSON payload received. Expected an object at the top level.")
    check_fields(message, _TOP, "")
    if len(message) != 1:
        raise WireError("Invalid message: exactly one of setup, client_content, realtime_input, "
                        "tool_response, context_update must be set.")
    return message


def parse_setup(message: JsonObject) -> Setup:
    raw = pick(message, "setup")
    if raw is None:
        raise WireError("The first message must be a setup message (BidiGenerateContentSetup).")
    setup = as_object(raw, "setup")
    check_fields(setup, _SETUP, "setup")
    model = pick(setup, "model", "")
    if not isinstance(model, str) or not model:
        raise WireError("Invalid argument: setup.model is required (e.g. models/NAME).")
    gen = as_object(pick(setup, "generationConfig"), "setup.generation_config")
    modalities = [str(m).upper() for m in pick(gen, "responseModalities", None) or ["AUDIO"]]
    for m in modalities:
        if m not in ("AUDIO", "TEXT"):
            raise WireError(f"Invalid value at 'setup.generation_config.response_modalities' "
                            f'(type.googleapis.com/google.ai.generativelanguage.v1beta.Modality), '
                            f'"{m}"')
    functions, non_blocking = declared_functions(pick(setup, "tools", None) or [], "setup.tools")
    ric = as_object(pick(setup, "realtimeInputConfig"), "setup.realtime_input_config")
    aad = as_object(pick(ric, "automaticActivityDetection"),
                    "setup.realtime_input_config.automatic_activity_detection")
    defaults = VadConfig()
    vad = VadConfig(
        disabled=bool(pick(aad, "disabled", False)),
        start_sensitivity=str(pick(aad, "startOfSpeechSensitivity", None)
                              or defaults.start_sensitivity),
        end_sensitivity=str(pick(aad, "endOfSpeechSensitivity", None)
                            or defaults.end_sensitivity),
        prefix_padding_ms=int(pick(aad, "prefixPaddingMs", None) or defaults.prefix_padding_ms),
        silence_duration_ms=int(pick(aad, "silenceDurationMs", None)
                                or defaults.silence_duration_ms),
    )
    resumption_raw = pick(setup, "sessionResumption")
    resumption = as_object(resumption_raw, "setup.session_resumption")
    handle = pick(resumption, "handle", None)
    compression_raw = pick(setup, "contextWindowCompression")
    compression = as_object(compression_raw, "setup.context_window_compression")
    window = as_object(pick(compression, "slidingWindow"),
                       "setup.context_window_compression.sliding_window")
    trigger = pick(compression, "triggerTokens", None)
    target = pick(window, "targetTokens", None)
    coverage = str(pick(ric, "turnCoverage", None) or "TURN_INCLUDES_ONLY_ACTIVITY").upper()
    if coverage not in TURN_COVERAGE:
        raise WireError("Invalid value at 'setup.realtime_input_config.turn_coverage' "
                        f'(type.googleapis.com/google.ai.generativelanguage.v1beta.TurnCoverage), '
                        f'"{coverage[:40]}"')
    if coverage == "TURN_COVERAGE_UNSPECIFIED":
        coverage = "TURN_INCLUDES_ONLY_ACTIVITY"
    history = as_object(pick(setup, "historyConfig"), "setup.history_config")
    return Setup(
        raw=setup,
        model=model,
        response_modalities=modalities,
        system_text=content_text(pick(setup, "systemInstruction")),
        functions=functions,
        vad=vad,
        interrupts=str(pick(ric, "activityHandling", "")) != "NO_INTERRUPTION",
        resumption=resumption_raw is not None,
        handle=str(handle) if handle else None,
        compression=compression_raw is not None,
        trigger_tokens=int(trigger) if trigger is not None else None,
        target_tokens=int(target) if target is not None else None,
        input_transcription=pick(setup, "inputAudioTranscription") is not None,
        output_transcription=pick(setup, "outputAudioTranscription") is not None,
        turn_coverage=coverage,
        initial_history=bool(pick(history, "initialHistoryInClientContent", False)),
        non_blocking=frozenset(non_blocking),
        transcription=as_object(pick(setup, "inputAudioTranscription"),
                                "setup.input_audio_transcription"),
        caps=capabilities(model),
    )


def declared_functions(tools: Any, where: str) -> tuple[list[str], list[str]]:
    """(names of all declared functions, names of those declared `behavior: NON_BLOCKING`)."""
    if isinstance(tools, dict):  # contextUpdate may carry a single Tool
        tools = [tools]
    if not isinstance(tools, list):
        raise WireError(f"Invalid value at '{where}': expected a list.")
    names: list[str] = []
    non_blocking: list[str] = []
    for tool in tools:
        for decl in pick(as_object(tool, where), "functionDeclarations", None) or []:
            decl = as_object(decl, f"{where}.function_declarations")
            name = pick(decl, "name", "")
            if isinstance(name, str) and name:
                names.append(name)
                if str(pick(decl, "behavior", "")).upper() == "NON_BLOCKING":
                    non_blocking.append(name)
    return names, non_blocking


def content_text(content: Any) -> str:
    """The text parts of a Content (or a plain string) joined."""
    if isinstance(content, str):
        return content
    if not isinstance(content, dict):
        return ""
    parts = pick(content, "parts", None) or []
    texts = [p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)]
    return " ".join(texts)


def _audio_rate(mime: str, where: str) -> int:
    base, _, params = mime.partition(";")
    if base.strip().lower() not in ("audio/pcm", "audio/l16"):
        raise WireError(f'Unsupported mime type "{mime}" at \'{where}\': realtime audio must be '
                        '"audio/pcm;rate=16000" (raw 16-bit PCM, little-endian).')
    rate = 16000
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "rate":
            try:
                rate = int(value.strip())
            except ValueError:
                raise WireError(f'Invalid audio sample rate in mime type "{mime}".') from None
    if not 8000 <= rate <= 48000:
        raise WireError(f'Unsupported audio sample rate in mime type "{mime}".')
    return rate


def _blob(raw: Any, where: str) -> tuple[bytes, str]:
    blob = as_object(raw, where)
    check_fields(blob, _BLOB, where)
    mime = pick(blob, "mimeType", "")
    if not isinstance(mime, str) or not mime:
        raise WireError(f"Invalid argument: '{where}.mime_type' is required.")
    return decode_b64(pick(blob, "data", ""), f"{where}.data"), mime


def _audio(raw: Any, where: str) -> Audio:
    data, mime = _blob(raw, where)
    rate = _audio_rate(mime, f"{where}.mime_type")
    if len(data) % 2:
        raise WireError(f"Invalid audio at '{where}.data': 16-bit PCM needs an even byte count.")
    return Audio(data, rate)


def _video(raw: Any, where: str) -> Video:
    data, mime = _blob(raw, where)
    if not mime.lower().startswith("image/"):
        raise WireError(f'Unsupported mime type "{mime}" at \'{where}.mime_type\': realtime video '
                        "must be image frames (image/jpeg, image/png).")
    return Video(data, mime.lower())


def parse_event(message: JsonObject, caps: ModelCapabilities | None = None) -> list[Event]:
    """The events one (non-setup) client message carries, in a fixed order.

    `caps`: the model's; shapes it does not accept raise `WireError` (its Gemini 3 mode).
    """
    if pick(message, "setup") is not None:
        raise WireError("Invalid argument: setup must be sent only once, as the first message.")
    if (ri := pick(message, "realtimeInput")) is not None:
        realtime = as_object(ri, "realtime_input")
        if caps is not None and not caps.media_chunks and pick(realtime, "mediaChunks") is not None:
            raise WireError(NO_MEDIA_CHUNKS)
        return _realtime(realtime)
    if (cc := pick(message, "clientContent")) is not None:
        content = as_object(cc, "client_content")
        check_fields(content, _CLIENT_CONTENT, "client_content")
        turns = pick(content, "turns", None) or []
        if not isinstance(turns, list) or not all(isinstance(t, dict) for t in turns):
            raise WireError("Invalid value at 'client_content.turns': expected a list of Content.")
        return [ClientContent(turns, bool(pick(content, "turnComplete", False)))]
    if (tr := pick(message, "toolResponse")) is not None:
        response = as_object(tr, "tool_response")
        check_fields(response, _TOOL_RESPONSE, "tool_response")
        items = pick(response, "functionResponses", None) or []
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise WireError("Invalid value at 'tool_response.function_responses': expected a list.")
        for i, item in enumerate(items):
            _check_scheduling(item, i, caps)
        return [ToolResponse(items)]
    return [ContextUpdate(as_object(pick(message, "contextUpdate"), "context_update"))]


def _check_scheduling(item: JsonObject, i: int, caps: ModelCapabilities | None) -> None:
    scheduling = pick(item, "scheduling", None)
    if scheduling is not None and str(scheduling).upper() not in SCHEDULING:
        raise WireError(f"Invalid value at 'tool_response.function_responses[{i}].scheduling' "
                        "(type.googleapis.com/google.ai.generativelanguage.v1beta."
                        f'FunctionResponse.Scheduling), "{str(scheduling)[:40]}"')
    response = pick(item, "response", None)
    if (caps is not None and not caps.scheduling_in_response and isinstance(response, dict)
            and "scheduling" in response):
        raise WireError(NO_SCHEDULING_IN_RESPONSE.format(i=i))


def _realtime(ri: JsonObject) -> list[Event]:
    check_fields(ri, _REALTIME, "realtime_input")
    events: list[Event] = []
    chunks = pick(ri, "mediaChunks", None) or []
    if not isinstance(chunks, list):
        raise WireError("Invalid value at 'realtime_input.media_chunks': expected a list.")
    for i, chunk in enumerate(chunks):
        where = f"realtime_input.media_chunks[{i}]"
        mime = str(pick(as_object(chunk, where), "mimeType", "")).lower()
        events.append(_video(chunk, where) if mime.startswith("image/") else _audio(chunk, where))
    if (audio := pick(ri, "audio")) is not None:
        events.append(_audio(audio, "realtime_input.audio"))
    if (video := pick(ri, "video")) is not None:
        events.append(_video(video, "realtime_input.video"))
    if pick(ri, "activityStart") is not None:
        events.append(ActivityStart())
    if (text := pick(ri, "text")) is not None:
        if not isinstance(text, str):
            raise WireError("Invalid value at 'realtime_input.text' (TYPE_STRING).")
        events.append(Text(text))
    if pick(ri, "activityEnd") is not None:
        events.append(ActivityEnd())
    if pick(ri, "audioStreamEnd", False):
        events.append(AudioStreamEnd())
    return events
