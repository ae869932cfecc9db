"""livebus's own session resumption handles, as clients see them in sessionResumptionUpdate.

A handle names a livebus session (whose state lives in JetStream: the owner lease, the upstream
handle, the shadow log), not an upstream connection, so a client can resume through any gateway
replica after its socket dropped, and the session survives even if the upstream handle does not.
It is signed with the gateway's token secret and bound to the user who opened the session. It
also carries what bounds the session's life, so resuming never extends it: when the session
first opened (max_session_s counts from there) and the expiry of the token that opened it.
"""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass

import jwt

PREFIX = "livebus-h1."
AUDIENCE = "livebus-resume"


@dataclass(frozen=True)
class Held:
    """What a genuine handle says."""

    sid: str
    user: str
    started_at: float               # the session's first connection (epoch seconds)
    expires_at: float | None = None  # the opening token's expiry; None for a server key


def mint(secret: str, session_id: str, user: str, *, started_at: float | None = None,
         expires_at: float | None = None) -> str:
    now = time.time()
    claims: dict[str, str | int | float] = {
        "sid": session_id, "user": user, "iat": int(now), "aud": AUDIENCE,
        "st": now if started_at is None else started_at,
        "jti": secrets.token_hex(8)}  # each connection's handle its own, even within a second
    if expires_at is not None:
        claims["tex"] = expires_at
    return PREFIX + jwt.encode(claims, secret, algorithm="HS256")


def _time(value: object, default: float | None) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return default


def claims(secret: str, handle: str, max_age_s: float) -> Held | None:
    """What a genuine handle younger than max_age_s says, else None."""
    try:
        c = jwt.decode(handle.removeprefix(PREFIX), secret, algorithms=["HS256"],
                       audience=AUDIENCE, options={"require": ["sid", "iat"]})
    except jwt.InvalidTokenError:
        return None
    iat = float(c["iat"])
    if time.time() - iat > max_age_s:
        return None
    started = _time(c.get("st"), iat)  # a handle from before "st" counts from its own iat
    return Held(sid=str(c["sid"]), user=str(c.get("user", "")),
                started_at=iat if started is None else started,
                expires_at=_time(c.get("tex"), None))


def verify(secret: str, handle: str, user: str, max_age_s: float) -> Held | None:
    """What the handle says, or None when it is forged, too old or someone else's."""
    c = claims(secret, handle, max_age_s)
    return c if c is not None and c.user == user else None
