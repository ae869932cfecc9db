"""Base64 as Gemini clients send it: URL-safe (the Python SDK) or standard, padded or not.

pybase64 (SIMD) instead of the standard library: every audio chunk and video frame crosses
base64 at the gateway and the bridge, and the stdlib decoder is ~40x slower on a camera frame.
"""

from __future__ import annotations

import binascii

import pybase64


def decode(data: str | bytes) -> bytes:
    """Decode either alphabet; raises ValueError on anything that is not base64."""
    raw = data.encode("ascii", "replace") if isinstance(data, str) else data
    if len(raw) % 4:
        raw += b"=" * (-len(raw) % 4)
    urlsafe = b"-" in raw or b"_" in raw
    if urlsafe and (b"+" in raw or b"/" in raw):
        raise ValueError("invalid base64: mixes the standard and URL-safe alphabets")
    try:
        return pybase64.b64decode(raw, altchars=b"-_" if urlsafe else None, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"invalid base64: {e}") from None


def encode(data: bytes) -> str:
    return pybase64.b64encode_as_string(data)
