"""What the sampler holds per session, and what one frame is on its way through."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from . import image
from .budget import PixelRate
from .policy import SessionState


@dataclass
class Frame:
    data: bytes
    still: bool
    received: float  # monotonic; the rate is measured on arrival, not on processing
    origin_ns: str = ""  # when the gateway received it (headers.ORIGIN_NS on the way out)


@dataclass
class Outcome:
    reason: str
    output: image.Encoded | None = None
    pixels: int = 0  # what the decoder produced


@dataclass
class Session:
    id: str
    state: SessionState = field(default_factory=SessionState)
    pending: Frame | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    last_seen: float = 0.0
    task: asyncio.Task[None] | None = None
    pixels: PixelRate | None = None
    logged: set[str] = field(default_factory=set)  # bad-frame reasons logged (once a session)
    speaking: bool = True                 # the bridge's latest speech state...
    speech_at: float = float("-inf")      # ...and when it came (monotonic)
