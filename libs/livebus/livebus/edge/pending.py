"""Nothing reaches a client before `setupComplete`, and nothing that comes earlier is lost.

The session subscribes to its downlink before it asks for a bridge (so nothing is missed), and
a bridge may speak before the gateway has written `setupComplete`: a resumed upstream sends
`sessionResumptionUpdate` at once. SDKs take the first message as the setup's answer, so until
`setupComplete` is written every client-bound message waits here, then follows it in order.
"""

from __future__ import annotations

from collections import deque

from .transport import Transport

MAX_HELD_BYTES = 16 << 20  # far above what a bridge sends before its open reply is handled

# A server message, or a reply audio chunk (mime, pcm).
Held = str | tuple[str, bytes]


class TooMuchBeforeSetup(Exception):
    """The downlink sent more than MAX_HELD_BYTES before setupComplete could be written."""


class SetupGate:
    def __init__(self, max_bytes: int = MAX_HELD_BYTES) -> None:
        self.is_open = False
        self.held: deque[Held] = deque()
        self.held_bytes = 0
        self.max_bytes = max_bytes
        self.overflowed = False

    def hold(self, item: Held) -> bool:
        """True when `item` is kept for later (setupComplete not written yet)."""
        if self.is_open:
            return False
        size = len(item) if isinstance(item, str) else len(item[1])
        if self.held_bytes + size > self.max_bytes:
            self.overflowed = True  # the session fails at open(): a lost message is worse
        else:
            self.held_bytes += size
            self.held.append(item)
        return True

    async def open(self, setup_complete: str, to: Transport) -> None:
        """Write setupComplete, then what was held, in order. Callers hold the send lock, so
        messages that come meanwhile are held too and go out in this same loop; the gate opens
        with no await between the last check and the opening."""
        if self.overflowed:
            raise TooMuchBeforeSetup
        await to.send_text(setup_complete)
        while self.held:
            item = self.held.popleft()
            if isinstance(item, str):
                self.held_bytes -= len(item)
                await to.send_text(item)
            else:
                self.held_bytes -= len(item[1])
                await to.send_audio(*item)
        self.is_open = True
