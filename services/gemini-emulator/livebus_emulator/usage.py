"""Token accounting at roughly Google's published rates."""

from __future__ import annotations

import math
from collections import Counter

from livebus_emulator.events import JsonObject

AUDIO_TOKENS_PER_S = 32
IMAGE_TOKENS = 258


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
