"""The google-genai client for the configured upstream, and setup -> LiveConnectConfig."""

from __future__ import annotations

from google import genai
from google.genai import types

from livebus import tls

from .settings import UpstreamSettings


def make_client(up: UpstreamSettings) -> genai.Client:
    if not up.gemini_api_key:
        raise ValueError("GEMINI_API_KEY is not set (make run starts the emulator and sets it)")
    opts: dict[str, object] = {"api_version": up.gemini_api_version}
    if up.gemini_base_url:
        opts["base_url"] = up.gemini_base_url
    if up.gemini_ca_file:
        opts["async_client_args"] = {"ssl": tls.client_context(up.gemini_ca_file)}
    return genai.Client(api_key=up.gemini_api_key, http_options=types.HttpOptions(**opts))


def connect_config(setup_json: bytes) -> types.LiveConnectConfig:
    """The client's setup (wire JSON, camelCase or snake_case, without model) as SDK config."""
    return types.LiveConnectConfig.model_validate_json(setup_json or b"{}")
