"""The google-genai client for the configured upstream, and setup -> LiveConnectConfig."""

from __future__ import annotations

from google import genai
from google.genai import types

from livebus import tls

from .settings import UpstreamSettings


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


def connect_config(setup_json: bytes) -> types.LiveConnectConfig:
    """The client's setup (wire JSON, camelCase or snake_case, without model) as SDK config."""
    return types.LiveConnectConfig.model_validate_json(setup_json or b"{}")
