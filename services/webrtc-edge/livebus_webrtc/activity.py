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

Sessions with automatic detection (`ptt` off) pass the track's audio, but for one pause: an
`audioStreamEnd` (the page sends it when the microphone is muted, and the muted track goes on
with frames of silence) waits for the audio before it, as an activityEnd does. Frames with sound
still pass until the track falls silent (speech captured before the mute is still being
encoded when the message goes); from then on its silent frames are dropped, and the first
frame with sound in it resumes the stream, as sending audio again does on the WebSocket.
Otherwise the silence after it restarted the stream at once, streamed and billed, and the end
overtook the last 80 ms of speech.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

WAIT_S = 0.5  # an activityEnd waits at most this long for the audio before it
SERIAL = 1 << 32
# A frame whose RMS is under this (int16; -60 dBFS) is silence: a muted track's, not a quiet room's.
SILENCE_RMS = 32.0

Signal = Literal["start", "end"]
_SIGNALS: dict[str, Signal] = {"activityStart": "start", "activity_start": "start",
                               "activityEnd": "end", "activity_end": "end"}


def newer(a: int, b: int) -> bool:
    """RTP timestamp `a` is later than `b` (32-bit serial number arithmetic)."""
    return 0 < (a - b) % SERIAL < SERIAL // 2


@dataclass(frozen=True)
class Signals:
    ends: bool = False           # carries an activityEnd
    last: Signal | None = None   # the activity signal it ends with (it may carry both, in order)
    pauses: bool = False         # carries audioStreamEnd: true


def signals(text: str) -> Signals:
    """The activity signals of a data channel message; anything that is not a realtimeInput
    carries none (the session refuses what is malformed)."""
    try:
        msg: Any = json.loads(text)
    except (ValueError, RecursionError):
        return Signals()
    body = msg.get("realtimeInput", msg.get("realtime_input")) if isinstance(msg, dict) else None
    if not isinstance(body, dict):
        return Signals()
    found = [_SIGNALS[k] for k in body if k in _SIGNALS]
    pauses = body.get("audioStreamEnd", body.get("audio_stream_end")) is True
    return Signals("end" in found, found[-1] if found else None, pauses)


def silent(pcm: bytes) -> bool:
    samples = np.frombuffer(pcm, dtype="<i2", count=len(pcm) // 2).astype(np.float32)
    return not samples.size or float(np.sqrt(np.mean(samples * samples))) < SILENCE_RMS


@dataclass(frozen=True)
class Held:
    text: str
    signals: Signals          # an end or a pause waits for the audio before it
    mark: int | None          # the newest RTP timestamp received when it arrived
    due: float                # released by then, whatever the track does


class ActivityGate:
    """One session's gate. `message` and `frame` return the messages to pass on now, in order;
    `frame` also says whether that frame of track audio is inside an activity."""

    def __init__(self, wait_s: float = WAIT_S) -> None:
        self.ptt = False           # set once the setup disabled automatic activity detection
        self.wait_s = wait_s
        self.active = False        # inside an activity, as the session has been told
        # Without `ptt`, after an audioStreamEnd: "ending" until the track falls silent, then
        # "paused" until it has sound again.
        self.pause: Literal["", "ending", "paused"] = ""
        self.start: int | None = None   # the activity's audio is newer than this
        self.latest: int | None = None  # the newest RTP timestamp received
        self.held: deque[Held] = deque()

    def packet(self, timestamp: int) -> None:
        """An RTP packet of the track arrived (before the jitter buffer)."""
        if self.latest is None or newer(timestamp, self.latest):
            self.latest = timestamp

    def message(self, text: str, now: float) -> list[str]:
        sig = signals(text)
        if self.held or self._waits(sig):
            self.held.append(Held(text, sig, self.latest, now + self.wait_s))
            return []
        self._apply(sig, self.latest)
        return [text]

    def frame(self, timestamp: int | None, now: float,
              pcm: bytes = b"") -> tuple[list[str], bool]:
        """The next frame of track audio (its RTP timestamp, when known, and its PCM): the held
        messages due before it, and whether it goes upstream (inside an activity with `ptt`;
        without, unless the stream is paused and the frame is silent)."""
        out = self._release(now, timestamp)
        if not self.ptt:
            if not self.pause:
                return out, True
            if silent(pcm):
                self.pause = "paused"
                return out, False
            if self.pause == "paused":
                self.pause = ""  # sound again: the stream resumes
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
            waits = self._waits(h.signals) and now < h.due
            if waits and not (timestamp is not None and h.mark is not None
                              and newer(timestamp, h.mark)):
                break
            self.held.popleft()
            self._apply(h.signals, h.mark)
            out.append(h.text)
        return out

    def _waits(self, sig: Signals) -> bool:
        """The message must wait for the track's audio that arrived before it."""
        return (self.ptt and sig.ends and self.active) or (not self.ptt and sig.pauses)

    def _apply(self, sig: Signals, mark: int | None) -> None:
        if sig.ends:
            self.active = False
        if sig.last == "start" and not self.active:  # (a second start goes on with the first)
            self.active, self.start = True, mark
        if sig.pauses and not self.ptt:
            self.pause = "ending"
