"""How a client gets a session: credential, setup, a slot, a token use, then the session.

Each step raises ProtocolError (code, reason) and counts its refusal in
`<prefix>_connections_rejected_total`, so every edge refuses alike whatever order it needs:
`serve` is the WebSocket order (credential, then the first message is the setup, then a slot);
an HTTP-signalled edge (WHIP) calls `credential` and `admit` when the offer is POSTed (mapping a
refusal with `http_status`), then `setup` and `run` once `setup` arrives on its data channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from livebus import closecodes

from . import handshake, tokens
from .buses import EdgeBus
from .handshake import Opening
from .session import EdgeSession
from .state import EdgeState
from .tokens import Grant, TokenError
from .transport import Transport
from .wire import Audio, ProtocolError, Video

log = logging.getLogger(__name__)

# Close code -> HTTP status, for edges whose client is refused over HTTP.
HTTP_STATUS = {
    closecodes.POLICY: 401,          # a missing or bad credential, a spent or expired token
    closecodes.TRY_AGAIN: 503,       # at capacity (in all or for this credential), not ready
    closecodes.INVALID_ARGUMENT: 400,
    closecodes.TOO_BIG: 413,
    closecodes.INTERNAL: 500,
}


def http_status(e: ProtocolError) -> int:
    """The HTTP status of a refusal before a session opened (400 for anything unlisted)."""
    return HTTP_STATUS.get(e.code, 400)


def credential(state: EdgeState[Any], headers: Mapping[str, str],
               query: Mapping[str, str]) -> Grant:
    """Who is calling (a server key or an ephemeral token, wherever a Gemini client puts it)."""
    try:
        return handshake.grant(headers, query, state.settings.server_keys(), state.secret)
    except ProtocolError:
        state.metrics.connections_rejected.labels("auth").inc()
        raise


def setup(state: EdgeState[Any], first: str | bytes | Audio | Video, grant: Grant) -> Opening:
    """The client's first message, which must be its `setup` (and may resume a session)."""
    s = state.settings
    try:
        if isinstance(first, Audio | Video):
            raise ProtocolError(closecodes.INVALID_ARGUMENT, "the first message must be setup")
        return handshake.opening(first, grant, allowed_models=s.allowed_models,
                                 max_bytes=s.max_message_bytes, secret=state.secret,
                                 resume_grace_s=s.resume_grace_s, max_session_s=s.max_session_s)
    except ProtocolError as e:
        state.metrics.connections_rejected.labels(f"close_{e.code}").inc()
        raise


def admit(state: EdgeState[Any], user: str) -> None:
    """Takes a session slot for `user` (1013 when there is none); `state.admission.release`
    gives it back, however the session ends."""
    try:
        state.admission.acquire(user)
    except ProtocolError:
        state.metrics.connections_rejected.labels("capacity").inc()
        raise


async def spend_use(state: EdgeState[Any], opening: Opening) -> None:
    """A new session spends one of its token's uses (resuming spends none, as with Google)."""
    bus = _bus(state)
    if opening.resume is not None:
        return
    try:
        tokens.check_new_session(opening.grant)
        await tokens.spend(bus.token_uses, opening.grant)
    except TokenError as e:
        state.metrics.connections_rejected.labels("auth").inc()
        raise ProtocolError(closecodes.POLICY, str(e)) from None


async def run(state: EdgeState[Any], transport: Transport, opening: Opening) -> None:
    """Spends the token's use, then runs the session to its end (the caller holds a slot)."""
    await spend_use(state, opening)
    await EdgeSession(transport, _bus(state), state.settings, opening.grant, opening.setup,
                      state.secret, opening.resume, started_at=opening.started_at).run()


async def serve(state: EdgeState[Any], transport: Transport, headers: Mapping[str, str],
                query: Mapping[str, str]) -> None:
    """A whole connection whose first message is the setup (a WebSocket): every refusal
    closes the transport with its code and reason."""
    try:
        opening = await _opening(state, transport, headers, query)
        if opening is None:
            return
        admit(state, opening.grant.user)
    except ProtocolError as e:
        await _close(transport, e.code, e.reason)
        return
    except Exception:
        log.exception("handshake failed")
        await _close(transport, closecodes.INTERNAL, "internal error")
        return
    try:  # the slot is taken: from here every way out gives it back
        await run(state, transport, opening)
    except ProtocolError as e:
        await _close(transport, e.code, e.reason)
    finally:
        state.admission.release(opening.grant.user)


async def _opening(state: EdgeState[Any], transport: Transport, headers: Mapping[str, str],
                   query: Mapping[str, str]) -> Opening | None:
    """Credential and setup; None when the client left first."""
    grant = credential(state, headers, query)
    try:
        first = await asyncio.wait_for(transport.receive(), state.settings.setup_timeout_s)
    except TimeoutError:
        state.metrics.connections_rejected.labels(f"close_{closecodes.INVALID_ARGUMENT}").inc()
        raise ProtocolError(closecodes.INVALID_ARGUMENT, "no setup message") from None
    if first is None:
        return None
    return setup(state, first, grant)


def _bus(state: EdgeState[Any]) -> EdgeBus:
    if state.bus is None:  # before start(): not ready, so not in service either
        raise ProtocolError(closecodes.TRY_AGAIN, "not ready")
    return state.bus


async def _close(transport: Transport, code: int, reason: str) -> None:
    try:
        await transport.close(code, closecodes.clamp_reason(reason))
    except Exception as e:  # the client is gone already
        log.debug("close failed: %s", type(e).__name__)
