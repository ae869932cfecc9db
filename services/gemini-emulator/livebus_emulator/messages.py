"""Server -> client messages, spelled as Google sends them (camelCase, proto3 JSON)."""

from __future__ import annotations

import json
from typing import Any

from livebus import b64
from livebus.serverwire import duration
from livebus_emulator.events import JsonObject

# The SDK's websockets client refuses messages above 1 MiB (its default max_size).
MAX_MESSAGE_BYTES = 1024 * 1024 - 1
AUDIO_OUT_MIME = "audio/pcm;rate=24000"


def encode(message: JsonObject) -> str:
    text = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
    if len(text.encode()) > MAX_MESSAGE_BYTES:
        raise ValueError(f"server message of {len(text.encode())} bytes exceeds 1 MiB")
    return text


def setup_complete(session_id: str) -> JsonObject:
    return {"setupComplete": {"sessionId": session_id}}


def audio_chunk(pcm: bytes) -> JsonObject:
    data = b64.encode(pcm)
    return {"serverContent": {"modelTurn": {"parts": [
        {"inlineData": {"mimeType": AUDIO_OUT_MIME, "data": data}}]}}}


def text_part(text: str) -> JsonObject:
    return {"serverContent": {"modelTurn": {"parts": [{"text": text}]}}}


def input_transcription(text: str, details: JsonObject | None = None) -> JsonObject:
    """`details`: finished, languageCode, speakerLabel, startOffset, endOffset, words."""
    return {"serverContent": {"inputTranscription": {"text": text, **(details or {})}}}


def output_transcription(text: str) -> JsonObject:
    return {"serverContent": {"outputTranscription": {"text": text}}}


def generation_complete() -> JsonObject:
    return {"serverContent": {"generationComplete": True}}


def interrupted() -> JsonObject:
    return {"serverContent": {"interrupted": True}}


def interim_input_transcription(text: str) -> JsonObject:
    return {"serverContent": {"interimInputTranscription": {"text": text}}}


def turn_complete(usage: JsonObject | None, *, reason: str | None = None,
                  waiting_for_input: bool = False, status: str | None = None) -> JsonObject:
    """`reason`: turnCompleteReason; `status`: interactionStatus (IN_PROGRESS / IDLE)."""
    content: JsonObject = {"turnComplete": True}
    if reason is not None:
        content["turnCompleteReason"] = reason
    if waiting_for_input:
        content["waitingForInput"] = True
    if status is not None:
        content["interactionStatus"] = status
    message: JsonObject = {"serverContent": content}
    if usage is not None:
        message["usageMetadata"] = usage
    return message


def tool_call(calls: list[JsonObject]) -> JsonObject:
    return {"toolCall": {"functionCalls": calls}}


def tool_call_cancellation(ids: list[str]) -> JsonObject:
    return {"toolCallCancellation": {"ids": ids}}


def go_away(time_left_s: float) -> JsonObject:
    return {"goAway": {"timeLeft": duration(time_left_s)}}


def resumption_update(handle: str | None) -> JsonObject:
    """With a handle: resumable now. Without: proto3 JSON omits the defaults, so `{}`."""
    body: dict[str, Any] = {"newHandle": handle, "resumable": True} if handle else {}
    return {"sessionResumptionUpdate": body}
