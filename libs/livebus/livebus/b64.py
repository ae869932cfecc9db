"""Base64 as Gemini clients send it: URL-safe (the Python SDK) or standard, padded or not."""

from __future__ import annotations

import base64
import binascii

_TO_STD = bytes.maketrans(b"-_", b"+/")


def decode(data: str | bytes) -> bytes:
    """Decode either alphabet; raises ValueError on anything that is not base64."""
    raw = data.encode("ascii") if isinstance(data, str) else data
    raw = raw.translate(_TO_STD)
    if len(raw) % 4:
        raw += b"=" * (-len(raw) % 4)
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"invalid base64: {e}") from None


def encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
