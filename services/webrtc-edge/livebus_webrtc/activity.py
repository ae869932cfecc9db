"""Push-to-talk over WebRTC: the track's audio enters the session only inside the client's
activities, in order with its activityStart / activityEnd.

With automatic activity detection disabled the client marks the user's turns with
activityStart and activityEnd on the data channel, while the microphone's track flows for the
whole session (a page that mutes it between turns still sends packets of silence; any other
client may send speech). Without a gate every second of the track went upstream, and was
billed there, turns or not. And the two paths race: the messages come on SCTP and are handled
as they arrive, the audio on RTP passes the receiver's jitter buffer first (four packets, 80 ms
of 20 ms Opus) and the decoder, so an activityEnd overtook the end of the speech before it,
and an activityStart took some of the audio from before it.

The gate orders them as they arrived at the edge: each message is stamped with the newest RTP
timestamp received when it arrived (its mark). Track audio is inside an activity when its
timestamp is newer than the activityStart's mark; an activityEnd (with every message after it,
the channel is ordered) waits until the track has delivered the audio up to its mark (the
first frame newer than it comes out of the jitter buffer) or, should the track stall (a client
that stops sending, lost packets), `wait_s` has passed. Audio outside every activity is
dropped. Timestamps compare in serial arithmetic (RFC 1982), so a hostile stream's jumps only
misplace its own audio, and the wait bounds how long a message is held.

Sessions with automatic detection (`ptt` off) pass everything, as before.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

WAIT_S = 0.5  # an activityEnd waits at most this long for the audio before it
SERIAL = 1 << 32

Signal = Literal["start", "end"]
_SIGNALS: dict[str, Signal] = {"activityStart": "start", "activity_start": "start",
                               "activityEnd": "end", "activity_end": "end"}


def newer(a: int, b: int) -> bool:
    """RTP timestamp `a` is later than `b` (32-bit serial number arithmetic)."""
    return 0 < (a - b) % SERIAL < SERIAL // 2


def signals(text: str) -> tuple[bool, Signal | None]:
    """Whether a data channel message carries an activityEnd, and the activity signal it ends
    with (a message may carry both, in order); anything that is not a realtimeInput with one
    carries none (the session refuses what is malformed)."""
    try:
        msg: Any = json.loads(text)
    except (ValueError, RecursionError):
        return False, None
    body = msg.get("realtimeInput", msg.get("realtime_input")) if isinstance(msg, dict) else None
    if not isinstance(body, dict):
        return False, None
    found = [_SIGNALS[k] for k in body if k in _SIGNALS]
    return "end" in found, (found[-1] if found else None)


@dataclass(frozen=True)
class Held:
    text: str
    ends: bool                # carries an activityEnd: waits for the audio before it
    last: Signal | None
    mark: int | None          # the newest RTP timestamp received when it arrived
    due: float                # released by then, whatever the track does


class ActivityGate:
    """One session's gate. `message` and `frame` return the messages to pass on now, in order;
    `frame` also says whether that frame of track audio is inside an activity."""

    def __init__(self, wait_s: float = WAIT_S) -> None:
        self.ptt = False           # set once the setup disabled automatic activity detection
        self.wait_s = wait_s
        self.active = False        # inside an activity, as the session has been told
        self.start: int | None = None   # the activity's audio is newer than this
        self.latest: int | None = None  # the newest RTP timestamp received
        self.held: deque[Held] = deque()

    def packet(self, timestamp: int) -> None:
        """An RTP packet of the track arrived (before the jitter buffer)."""
        if self.latest is None or newer(timestamp, self.latest):
            self.latest = timestamp

    def message(self, text: str, now: float) -> list[str]:
        ends, last = signals(text)
        if self.held or (self.ptt and ends and self.active):
            self.held.append(Held(text, ends, last, self.latest, now + self.wait_s))
            return []
        self._apply(ends, last, self.latest)
        return [text]

    def frame(self, timestamp: int | None, now: float) -> tuple[list[str], bool]:
        """The next frame of track audio (its RTP timestamp, when known): the held messages
        due before it, and whether it is inside an activity (always, without `ptt`)."""
        out = self._release(now, timestamp)
        if not self.ptt:
            return out, True
        inside = self.active and (timestamp is None or self.start is None
                                  or newer(timestamp, self.start))
        return out, inside

    def due(self, now: float) -> list[str]:
        """What the wait releases by `now` (the transport's timer)."""
        return self._release(now, None)

    def next_due(self) -> float | None:
        return self.held[0].due if self.held else None

    def _release(self, now: float, timestamp: int | None) -> list[str]:
        out: list[str] = []
        while self.held:
            h = self.held[0]
            waits = h.ends and self.active and now < h.due
            if waits and not (timestamp is not None and h.mark is not None
                              and newer(timestamp, h.mark)):
                break
            self.held.popleft()
            self._apply(h.ends, h.last, h.mark)
            out.append(h.text)
        return out

    def _apply(self, ends: bool, last: Signal | None, mark: int | None) -> None:
        if ends:
            self.active = False
        if last == "start" and not self.active:  # (a second start goes on with the first)
            self.active, self.start = True, mark
