"""Token accounting at Google's published rates.

Sources (Gemini API docs, "Understand and count tokens" and "Media resolution",
ai.google.dev/gemini-api/docs/tokens and /media-resolution; the Generative Language API's
`MediaResolution` enum):
- audio: 32 tokens a second ("one minute of audio is represented as 1,920 tokens");
- an image (a video frame, an uploaded still) before Gemini 3: 258 tokens; with
  `generationConfig.mediaResolution` LOW 64, MEDIUM 256, HIGH 256 (zoomed reframing);
- Gemini 3: LOW 280, MEDIUM 560, HIGH 1120, and unset means HIGH (about 4x LOW);
- text: about four characters a token.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

JsonObject = dict[str, Any]  # as events.JsonObject (which imports this module)

AUDIO_TOKENS_PER_S = 32
IMAGE_TOKENS = 258  # an image at the default resolution, before Gemini 3

_LEGACY = {"MEDIA_RESOLUTION_LOW": 64, "MEDIA_RESOLUTION_MEDIUM": 256,
           "MEDIA_RESOLUTION_HIGH": 256}
_GEMINI3 = {"MEDIA_RESOLUTION_LOW": 280, "MEDIA_RESOLUTION_MEDIUM": 560,
            "MEDIA_RESOLUTION_HIGH": 1120}
_GEMINI3_DEFAULT = "MEDIA_RESOLUTION_HIGH"


def image_tokens(media_resolution: str | None, gemini3: bool) -> int:
    """Tokens one image costs at the session's `generationConfig.mediaResolution`."""
    name = str(media_resolution or "").upper()
    if name and not name.startswith("MEDIA_RESOLUTION_"):
        name = "MEDIA_RESOLUTION_" + name  # "LOW" as some clients spell it
    if gemini3:
        return _GEMINI3.get(name, _GEMINI3[_GEMINI3_DEFAULT])
    return _LEGACY.get(name, IMAGE_TOKENS)


def text_tokens(text: str) -> int:
    """About four characters a token."""
    return math.ceil(len(text) / 4) if text else 0


def audio_tokens(seconds: float) -> int:
    return math.ceil(seconds * AUDIO_TOKENS_PER_S) if seconds > 0 else 0


def details(tokens: Counter[str]) -> list[JsonObject]:
    return [{"modality": m, "tokenCount": n} for m, n in sorted(tokens.items()) if n > 0]


def usage_metadata(prompt: Counter[str], response: Counter[str]) -> JsonObject:
    prompt_total = sum(prompt.values())
    response_total = sum(response.values())
    usage: JsonObject = {
        "promptTokenCount": prompt_total,
        "responseTokenCount": response_total,
        "totalTokenCount": prompt_total + response_total,
    }
    if prompt_total:
        usage["promptTokensDetails"] = details(prompt)
    if response_total:
        usage["responseTokensDetails"] = details(response)
    return usage
