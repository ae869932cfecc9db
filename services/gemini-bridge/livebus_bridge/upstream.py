"""The google-genai client for the configured upstream, and setup -> LiveConnectConfig.

Where the bridge connects, with which key, headers and API version, comes only from
UpstreamSettings: a session's setup is a client's message, and the SDK would honour an
`http_options` in it (base URL, headers), sending the upstream key to the client's host.
"""

from __future__ import annotations

import json
import re

from google import genai
from google.genai import errors, types
from websockets.exceptions import ConnectionClosed

from livebus import closecodes, tls
from livebus.toolcalls import ToolSpec
from livebus.v1 import bus_pb2

from .settings import BridgeSettings, UpstreamSettings
from .tools import with_declarations

# The LiveConnectConfig fields a setup may set (Google's BidiGenerateContentSetup, flattened as
# the SDK holds it). Never `http_options` (transport, credentials) or `labels` (Vertex only).
SETUP_FIELDS = frozenset({
    "generation_config", "response_modalities", "temperature", "top_p", "top_k",
    "max_output_tokens", "media_resolution", "seed", "speech_config", "thinking_config",
    "enable_affective_dialog", "system_instruction", "tools", "session_resumption",
    "input_audio_transcription", "output_audio_transcription", "realtime_input_config",
    "context_window_compression", "proactivity", "explicit_vad_signal", "history_config",
    "avatar_config", "safety_settings", "translation_config",
})


class SetupError(ValueError):
    """The setup cannot become a LiveConnectConfig. The message names no internal detail."""


def make_client(up: UpstreamSettings, ws_compression: bool = False) -> genai.Client:
    """`ws_compression` off: permessage-deflate on base64 audio and JPEG saves about a quarter
    of the bytes for a quarter of the bridge's CPU. The SDK hands `compression` to websockets."""
    if not up.gemini_api_key:
        raise ValueError("GEMINI_API_KEY is not set (make run starts the emulator and sets it)")
    opts: dict[str, object] = {"api_version": up.gemini_api_version}
    if up.gemini_base_url:
        opts["base_url"] = up.gemini_base_url
    ws_args: dict[str, object] = {"compression": "deflate" if ws_compression else None}
    if up.gemini_ca_file:
        ws_args["ssl"] = tls.client_context(up.gemini_ca_file)
    opts["async_client_args"] = ws_args
    return genai.Client(api_key=up.gemini_api_key, http_options=types.HttpOptions(**opts))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def connect_config(setup_json: bytes) -> types.LiveConnectConfig:
    """The client's setup (wire JSON, camelCase or snake_case, without model) as SDK config:
    only the fields in SETUP_FIELDS; anything else (httpOptions above all) is left out."""
    try:
        setup = json.loads(setup_json or b"{}")
    except ValueError:
        raise SetupError("setup is not valid JSON") from None
    if not isinstance(setup, dict):
        raise SetupError("setup must be an object")
    kept = {k: v for k, v in setup.items() if isinstance(k, str) and _snake(k) in SETUP_FIELDS}
    try:
        config = types.LiveConnectConfig.model_validate(kept)
    except ValueError:
        raise SetupError("setup has an invalid field") from None
    return safe(config)


def safe(config: types.LiveConnectConfig) -> types.LiveConnectConfig:
    """The config with no transport options, whatever built it."""
    if config.http_options is None:
        return config
    return config.model_copy(update={"http_options": None})


def close_of(e: BaseException) -> bus_pb2.Close:
    """The upstream's own close code and reason pass through as they are; anything else is
    livebus's, and says nothing about what failed inside (no exception text, host or port)."""
    if isinstance(e, errors.APIError):
        reason = e.details if isinstance(e.details, str) else (e.message or str(e.status))
        return bus_pb2.Close(code=int(e.code or closecodes.INTERNAL),
                             reason=closecodes.clamp_reason(str(reason or "")))
    if isinstance(e, ConnectionClosed) and e.rcvd is not None:
        return bus_pb2.Close(code=e.rcvd.code, reason=closecodes.clamp_reason(e.rcvd.reason))
    return bus_pb2.Close(code=closecodes.INTERNAL, reason="upstream unavailable")


def session_config(setup_json: bytes, specs: list[ToolSpec],
                   settings: BridgeSettings) -> types.LiveConnectConfig:
    """The client's setup (allow-listed), the server tools' declarations, and a sliding
    context window unless the client chose one. Raises SetupError."""
    config = with_declarations(connect_config(setup_json), specs)
    if settings.default_compression and config.context_window_compression is None:
        config = config.model_copy(update={
            "context_window_compression": types.ContextWindowCompressionConfig(
                trigger_tokens=settings.compression_trigger_tokens,
                sliding_window=types.SlidingWindow(
                    target_tokens=settings.compression_target_tokens))})
    gen = config.generation_config
    if settings.default_media_resolution and config.media_resolution is None and (
            gen is None or gen.media_resolution is None):
        config = config.model_copy(update={
            "media_resolution": types.MediaResolution(settings.default_media_resolution)})
    return config
