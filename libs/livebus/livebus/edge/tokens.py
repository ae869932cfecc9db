"""Ephemeral tokens like Google's: `auth_tokens/<signed JWT>`, verifiable by any gateway replica.

The JWT (HS256, PyJWT) carries Google's fields (uses, expireTime, newSessionExpireTime, an optional
locked setup) and livebus's own claims (user, models, tools, turnDetection, room; see
docs/tokens.md). Uses are counted
in a JetStream KV bucket shared by all replicas, with compare-and-set so two replicas cannot both
spend the last use.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from nats.js.errors import KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KeyValue

from livebus import usage

from . import setupcheck
from .wire import ProtocolError

PREFIX = "auth_tokens/"
ISSUER = "livebus"
DEFAULT_TTL = dt.timedelta(minutes=30)
DEFAULT_NEW_SESSION_TTL = dt.timedelta(seconds=60)
MAX_TTL = dt.timedelta(hours=20)


class TokenError(Exception):
    """Why a token was refused; the message is safe to show the client."""


TURN_DETECTION = ("local", "server")


@dataclass
class Grant:
    """What a verified credential allows."""

    user: str
    server_key: bool = False
    # None (no claim): the gateway's models / the server's default tools; [] grants none.
    models: list[str] | None = None
    tools: list[str] | None = None
    turn_detection: str = ""  # "local" | "server"; "": the bridge's default (docs/turns.md)
    room: str = ""  # usage is also counted per room (docs/metrics.md); "": none
    locked_setup: dict[str, Any] | None = None
    field_mask: list[str] | None = None
    token_id: str | None = None
    uses: int = 1
    expires_at: float | None = None
    new_session_until: float | None = None


def check_new_session(grant: Grant) -> None:
    if grant.new_session_until is not None and time.time() > grant.new_session_until:
        raise TokenError("token may no longer start new sessions (newSessionExpireTime passed)")


def _parse_time(value: Any, default: dt.datetime) -> dt.datetime:
    if value in (None, ""):
        return default
    if not isinstance(value, str):
        raise ValueError("times are RFC 3339 strings")
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def _rfc3339(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


MAX_USES = 1000
MAX_CLAIM_ITEMS = 100
MAX_NAME = 200


def _uses(value: Any) -> int:
    """A JSON integer from 1 to MAX_USES (not a bool, string, fraction or non-finite number)."""
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenError("uses must be an integer")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise TokenError("uses must be an integer")
    if not 1 <= value <= MAX_USES:
        raise TokenError(f"uses must be from 1 to {MAX_USES}")
    return int(value)


def _names(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_CLAIM_ITEMS or not all(
            isinstance(v, str) and 0 < len(v) <= MAX_NAME for v in value):
        raise TokenError(f"livebus.{what} must be a list of at most {MAX_CLAIM_ITEMS} names")
    return list(value)


def _livebus_claims(lb: Any) -> dict[str, Any]:
    """livebus's own claims: user, and models/tools where a present empty list grants none."""
    if lb is None:
        return {}
    if not isinstance(lb, dict):
        raise TokenError("livebus claims must be an object")
    claims: dict[str, Any] = {}
    user = lb.get("user")
    if user not in (None, ""):
        if not isinstance(user, str) or len(user) > MAX_NAME:
            raise TokenError(f"livebus.user must be a string of at most {MAX_NAME} characters")
        claims["user"] = user
    for what in ("models", "tools"):
        if lb.get(what) is not None:
            claims[what] = _names(lb[what], what)
    turns = lb.get("turnDetection")
    if turns not in (None, ""):
        if turns not in TURN_DETECTION:
            raise TokenError('livebus.turnDetection must be "local" or "server"')
        claims["turns"] = turns
    room = lb.get("room")
    if room not in (None, ""):
        if not isinstance(room, str) or not usage.valid_room(room):
            raise TokenError("livebus.room must be 1 to 64 letters, digits, '_' or '-'")
        claims["room"] = room
    return claims


def _locked_setup(body: dict[str, Any]) -> dict[str, Any]:
    setup = body.get("bidiGenerateContentSetup") or body.get("bidi_generate_content_setup")
    if setup is None:
        return {}
    if not isinstance(setup, dict):
        raise TokenError("bidiGenerateContentSetup must be an object")
    locked = setup.get("setup", setup)
    try:
        setupcheck.check_setup(locked)
    except ProtocolError as e:
        raise TokenError(f"bidiGenerateContentSetup: {e.reason}") from None
    claims: dict[str, Any] = {"setup": locked}
    mask = body.get("fieldMask") or body.get("field_mask")
    if mask:
        if not isinstance(mask, str):
            raise TokenError("fieldMask must be a string")
        claims["mask"] = [m.strip() for m in mask.split(",") if m.strip()]
    return claims


def mint(secret: str, body: dict[str, Any], now: dt.datetime | None = None) -> dict[str, Any]:
    """Create a token from a `POST auth_tokens` body; returns Google's AuthToken JSON.

    Raises TokenError (a 400 INVALID_ARGUMENT) for anything malformed."""
    now = now or dt.datetime.now(dt.UTC)
    uses = _uses(body.get("uses"))
    try:
        expire = _parse_time(body.get("expireTime") or body.get("expire_time"), now + DEFAULT_TTL)
        nse = _parse_time(
            body.get("newSessionExpireTime") or body.get("new_session_expire_time"),
            now + DEFAULT_NEW_SESSION_TTL,
        )
    except (TypeError, ValueError, OverflowError):
        raise TokenError("invalid token request: times are RFC 3339 strings") from None
    if expire <= now or expire - now > MAX_TTL:
        raise TokenError("expireTime must be in the future and at most 20 hours away")
    nse = min(nse, expire)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "jti": uuid.uuid4().hex,
        "iat": int(now.timestamp()),
        "exp": int(expire.timestamp()),
        "nse": int(nse.timestamp()),
        "uses": uses,
        **_locked_setup(body),
        **_livebus_claims(body.get("livebus")),
    }
    token = jwt.encode(claims, secret, algorithm="HS256")
    return {
        "name": PREFIX + token,
        "uses": uses,
        "expireTime": _rfc3339(expire),
        "newSessionExpireTime": _rfc3339(nse),
    }


def verify(secret: str, credential: str) -> Grant:
    """Check signature and times; raises TokenError. Uses are spent separately (`spend`)."""
    raw = credential.removeprefix(PREFIX)
    try:
        claims = jwt.decode(raw, secret, algorithms=["HS256"], issuer=ISSUER,
                            options={"require": ["exp", "jti", "iss"]})
    except jwt.ExpiredSignatureError:
        raise TokenError("token expired") from None
    except jwt.InvalidTokenError:
        raise TokenError("invalid token") from None
    return Grant(
        new_session_until=float(claims.get("nse", claims["exp"])),
        user=str(claims.get("user") or f"token:{claims['jti'][:8]}"),
        models=claims.get("models"),
        tools=claims.get("tools"),
        turn_detection=str(claims.get("turns") or ""),
        room=_room(claims.get("room")),
        locked_setup=claims.get("setup"),
        field_mask=claims.get("mask"),
        token_id=str(claims["jti"]),
        uses=int(claims.get("uses", 1)),
        expires_at=float(claims["exp"]),
    )


def _room(value: Any) -> str:
    """Checked at mint; checked again, as a key in KV must be safe whatever signed it."""
    if isinstance(value, str) and usage.valid_room(value):
        return value
    if value not in (None, ""):
        raise TokenError("invalid token")
    return ""


async def spend(kv: KeyValue, grant: Grant, deadline_s: float = 12.0) -> None:
    """Spend one use of the token; raises TokenError when none is left.

    Counted exactly once through a NATS leader change: the value is "<uses> <attempt id>", so
    a write whose answer was lost (a timeout) and that is tried again is recognised as this
    attempt's own, not counted a second time (nor refused as "already used"). A bucket whose
    leader died answers again after an election (4-9 s on nats-server): the deadline covers it."""
    if grant.token_id is None:
        return
    key = grant.token_id
    attempt = uuid.uuid4().hex
    stop = time.monotonic() + deadline_s
    while time.monotonic() < stop:
        try:
            if await _spend_once(kv, key, grant.uses, attempt):
                return
        except TokenError:
            raise
        except Exception:  # NATS away or electing a leader: look again shortly
            await asyncio.sleep(0.1)
    raise TokenError("token use could not be recorded, try again")


async def _spend_once(kv: KeyValue, key: str, uses: int, attempt: str) -> bool:
    """One compare-and-set; True when this attempt's use is recorded (now or before)."""
    try:
        entry = await kv.get(key)
    except NotFoundError:
        entry = None
    value = (entry.value or b"").decode() if entry is not None else ""
    used_text, _, writer = value.partition(" ")
    if writer == attempt:
        return True  # an earlier try of this attempt was stored; its answer was lost
    mine = attempt.encode()
    try:
        if entry is None or not value:
            await kv.create(key, b"1 " + mine)
            return True
        used = int(used_text or "0")
        if used >= uses:
            raise TokenError("token has already been used")
        assert entry.revision is not None
        await kv.update(key, f"{used + 1} ".encode() + mine, last=entry.revision)
    except KeyWrongLastSequenceError:
        return False  # another gateway spent one meanwhile: read again
    return True


def apply_locked_setup(grant: Grant, setup: dict[str, Any]) -> dict[str, Any]:
    """Google's semantics: the token's setup wins; with a field mask, only the masked fields."""
    if not grant.locked_setup:
        return setup
    locked = grant.locked_setup
    if grant.field_mask:
        merged = dict(setup)
        for path in grant.field_mask:
            top = path.split(".")[0]
            if top in locked:
                merged[top] = locked[top]
        if "model" in locked:
            merged["model"] = locked["model"]
        return merged
    merged = dict(setup)
    merged.update(locked)
    return merged
