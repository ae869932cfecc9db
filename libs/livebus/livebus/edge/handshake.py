"""A Live connection's handshake: who is calling, which setup they may open, what they resume.

Pure apart from the clock: every refusal is a ProtocolError with the close code and a reason that
names the client's own field or problem and nothing internal.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from livebus import closecodes

from . import auth, resumption, setupcheck, tokens, wire
from .tokens import Grant, TokenError
from .wire import ProtocolError

API_VERSIONS = ("v1alpha", "v1beta", "v1")
LIVE_METHODS = ("BidiGenerateContent", "BidiGenerateContentConstrained")
TOO_LONG = "maximum session duration reached"


@dataclass(frozen=True)
class Opening:
    """What a valid handshake opens."""

    grant: Grant
    setup: dict[str, Any]   # allow-listed, the token's locked fields applied, model normalized
    resume: str | None      # the livebus session id a resumption handle named
    # When the session first opened (a resumed one keeps its start), for max_session_s.
    started_at: float = dataclasses.field(default_factory=time.time)


def check_endpoint(version: str, method: str) -> None:
    if version not in API_VERSIONS or method not in LIVE_METHODS:
        raise ProtocolError(closecodes.POLICY, "unknown endpoint")


def grant(headers: Mapping[str, str], query: Mapping[str, str], server_keys: list[str],
          secret: str) -> Grant:
    try:
        return auth.authenticate(auth.credential(headers, query), server_keys, secret)
    except TokenError as e:
        raise ProtocolError(closecodes.POLICY, str(e)) from None


def parse_setup(frame: str | bytes, max_bytes: int) -> dict[str, Any]:
    """The first frame: exactly {"setup": {...}} with a model name, within max_bytes."""
    if len(frame) > max_bytes:
        raise ProtocolError(closecodes.TOO_BIG, "setup message too large")
    try:
        msg = wire.load_json(frame)
    except RecursionError:
        raise setupcheck.invalid("Invalid JSON payload received: nested too deeply") from None
    except ValueError:  # e.g. an integer of more digits than Python converts
        raise setupcheck.invalid("Invalid JSON payload received: a number is out of range") \
            from None
    if "setup" not in msg:
        raise setupcheck.invalid("The first message must be a setup message")
    extra = [k for k in msg if k != "setup"]
    if extra:
        raise setupcheck.invalid(f'Invalid JSON payload received. Unknown name '
                                 f'"{setupcheck.shown(extra[0])}": Cannot find field.')
    setup = msg["setup"]
    if not isinstance(setup, dict):
        raise setupcheck.invalid("setup must be an object")
    if not isinstance(setup.get("model"), str) or not setup["model"]:
        raise setupcheck.invalid("setup.model is required")
    return setup


def validated_setup(setup: dict[str, Any], grant: Grant,
                    allowed_models: list[str]) -> dict[str, Any]:
    """The allow-list on the client's setup and on the result of the token's locked setup."""
    setupcheck.check_setup(setup)
    merged = tokens.apply_locked_setup(grant, setup)
    if merged is not setup:
        setupcheck.check_setup(merged)
    if not isinstance(merged.get("model"), str):
        raise setupcheck.invalid("setup.model is required")
    model = wire.normalize_model(merged["model"])
    gateway = {wire.normalize_model(m) for m in allowed_models}
    permitted = gateway if grant.models is None else {wire.normalize_model(m) for m in grant.models}
    if model not in permitted or model not in gateway:
        raise setupcheck.invalid(f"model {setupcheck.shown(model)} is not available")
    return {**merged, "model": model}


def resumed_session(setup: dict[str, Any], grant: Grant, secret: str,
                    grace_s: float) -> tuple[dict[str, Any], resumption.Held | None]:
    """The setup without livebus's handle (an empty request upstream) and what the handle says."""
    key = "sessionResumption" if "sessionResumption" in setup else "session_resumption"
    config = setup.get(key)
    if not isinstance(config, dict) or not config.get("handle"):
        return setup, None
    held = resumption.verify(secret, str(config["handle"]), grant.user, grace_s)
    if held is None:
        raise setupcheck.invalid("invalid session resumption handle")
    rest = {k: v for k, v in config.items() if k != "handle"}
    return {**setup, key: rest}, held


def resumed_grant(grant: Grant, held: resumption.Held, max_session_s: float | None,
                  now: float) -> Grant:
    """The grant a resumed session runs under: the opening token's expiry still holds (a newer
    token of the same user does not extend it), and a session past max_session_s stays over."""
    if max_session_s is not None and now >= held.started_at + max_session_s:
        raise ProtocolError(closecodes.SESSION_EXPIRED, TOO_LONG)
    if held.expires_at is None:
        return grant
    if held.expires_at <= now:
        raise ProtocolError(closecodes.SESSION_EXPIRED, "token expired")
    if grant.expires_at is None or held.expires_at < grant.expires_at:
        return dataclasses.replace(grant, expires_at=held.expires_at)
    return grant


def opening(frame: str | bytes, grant: Grant, *, allowed_models: list[str], max_bytes: int,
            secret: str, resume_grace_s: float, max_session_s: float | None = None) -> Opening:
    """The whole setup step for one first frame."""
    setup = validated_setup(parse_setup(frame, max_bytes), grant, allowed_models)
    setup, held = resumed_session(setup, grant, secret, resume_grace_s)
    if held is None:
        return Opening(grant, setup, None)
    return Opening(resumed_grant(grant, held, max_session_s, time.time()), setup, held.sid,
                   started_at=held.started_at)
