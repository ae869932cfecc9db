"""WebSocket close codes livebus uses towards clients (documented in docs/protocol.md)."""

from __future__ import annotations

NORMAL = 1000          # session ended normally
GOING_AWAY = 1001      # the gateway is shutting down
INVALID_ARGUMENT = 1007  # bad JSON, unknown field, bad base64, wrong mime/rate, setup errors
POLICY = 1008          # authentication / token problems, floods
TOO_BIG = 1009         # a message above the configured limit
INTERNAL = 1011        # upstream or internal failure
TRY_AGAIN = 1013       # no bridge capacity right now


def clamp_reason(reason: str) -> str:
    """A close reason must fit in 123 UTF-8 bytes."""
    data = reason.encode()
    if len(data) <= 123:
        return reason
    return data[:120].decode(errors="ignore") + "..."


# Gateway session runtime (docs/security.md): names for the codes above, by why a session ends.
RESUMED_ELSEWHERE = NORMAL  # "session resumed on another connection"
RATE_LIMITED = POLICY       # "rate limit exceeded: <what>" (messages, media chunks, bytes, ...)
SESSION_EXPIRED = POLICY    # "token expired", "maximum session duration reached"
QUOTA_EXCEEDED = POLICY     # "quota exceeded: tokens per day" (or minutes per day, ...)
