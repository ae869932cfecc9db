"""livebus's own session resumption handles, as clients see them in sessionResumptionUpdate.

A handle names a livebus session (whose state lives in JetStream: the owner lease, the upstream
handle, the shadow log), not an upstream connection, so a client can resume through any gateway
replica after its socket dropped, and the session survives even if the upstream handle does not.
It is signed with the gateway's token secret and bound to the user who opened the session.
"""

from __future__ import annotations

import time

import jwt

PREFIX = "livebus-h1."
AUDIENCE = "livebus-resume"


def mint(secret: str, session_id: str, user: str) -> str:
    claims = {"sid": session_id, "user": user, "iat": int(time.time()), "aud": AUDIENCE}
    return PREFIX + jwt.encode(claims, secret, algorithm="HS256")


def claims(secret: str, handle: str, max_age_s: float) -> dict[str, str] | None:
    """{"sid", "user"} of a genuine handle younger than max_age_s, else None."""
    try:
        c = jwt.decode(handle.removeprefix(PREFIX), secret, algorithms=["HS256"],
                       audience=AUDIENCE, options={"require": ["sid", "iat"]})
    except jwt.InvalidTokenError:
        return None
    if time.time() - float(c["iat"]) > max_age_s:
        return None
    return {"sid": str(c["sid"]), "user": str(c.get("user", ""))}


def verify(secret: str, handle: str, user: str, max_age_s: float) -> str | None:
    """The session id, or None when the handle is forged, too old or someone else's."""
    c = claims(secret, handle, max_age_s)
    return c["sid"] if c is not None and c["user"] == user else None
