"""Who is calling: a server key or an ephemeral token, from any place a Gemini client puts it."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from . import tokens
from .tokens import Grant, TokenError


def credential(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """Authorization: Token/Bearer, x-goog-api-key, ?access_token=, ?key= (browsers)."""
    auth = headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() in ("token", "bearer") and value.strip():
        return value.strip()
    for found in (headers.get("x-goog-api-key"), query.get("access_token"), query.get("key")):
        if found:
            return found
    return None


def matching_key(candidate: str, server_keys: list[str]) -> str | None:
    """The server key equal to candidate (compared in constant time), if any."""
    found = None
    for k in server_keys:
        if hmac.compare_digest(candidate.encode(), k.encode()):
            found = k
    return found


def is_server_key(candidate: str, server_keys: list[str]) -> bool:
    return matching_key(candidate, server_keys) is not None


def key_identity(key: str) -> str:
    """Each server key is its own identity (sessions, limits, notes), named without the key."""
    return "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]


def authenticate(candidate: str | None, server_keys: list[str], secret: str) -> Grant:
    """Raises TokenError with a reason the client may see (never echoing the credential)."""
    if not candidate:
        raise TokenError("missing API key or token")
    if candidate.startswith(tokens.PREFIX):
        return tokens.verify(secret, candidate)
    key = matching_key(candidate, server_keys)
    if key is not None:
        return Grant(user=key_identity(key), server_key=True)
    raise TokenError("API key not valid")
