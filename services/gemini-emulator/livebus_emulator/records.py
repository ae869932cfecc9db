"""What each connection received and did, kept for the control API (also after it closed)."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Protocol

from livebus_emulator.events import JsonObject


class LiveControl(Protocol):
    """What the control API can do to a live connection."""

    async def go_away(self, time_left_s: float | None, close: bool) -> None: ...

    async def drop(self, code: int, reason: str) -> None: ...

    def set_transcript(self, text: str) -> None: ...


@dataclass
class ConnectionRecord:
    id: str
    path: str
    method: str
    api_version: str
    started: float = field(default_factory=time.time)
    session_id: str = ""
    model: str = ""
    ended: float | None = None
    close_code: int | None = None
    close_reason: str = ""
    setup: JsonObject = field(default_factory=dict)
    audio_seconds: float = 0.0
    speech_segments: list[JsonObject] = field(default_factory=list)
    frames: list[JsonObject] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    client_contents: list[JsonObject] = field(default_factory=list)
    tool_calls: list[JsonObject] = field(default_factory=list)
    tool_responses: list[JsonObject] = field(default_factory=list)
    context_updates: list[JsonObject] = field(default_factory=list)
    replies: list[JsonObject] = field(default_factory=list)
    history: list[JsonObject] = field(default_factory=list)
    resumed_from: str | None = None
    restored_history: list[JsonObject] = field(default_factory=list)
    handles: list[str] = field(default_factory=list)
    goaways: list[JsonObject] = field(default_factory=list)
    turns: int = 0
    interruptions: int = 0

    @property
    def open(self) -> bool:
        return self.ended is None

    def elapsed(self) -> float:
        return round(time.time() - self.started, 3)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "session_id": self.session_id,
            "model": self.model,
            "path": self.path,
            "method": self.method,
            "api_version": self.api_version,
            "started": self.started,
            "ended": self.ended,
            "open": self.open,
            "close_code": self.close_code,
            "close_reason": self.close_reason,
            "audio_seconds": round(self.audio_seconds, 3),
            "frame_count": len(self.frames),
            "turns": self.turns,
            "interruptions": self.interruptions,
            "resumed_from": self.resumed_from,
        }

    def detail(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "setup": self.setup,
            "speech_segments": self.speech_segments,
            "frames": self.frames,
            "texts": self.texts,
            "client_contents": self.client_contents,
            "tool_calls": self.tool_calls,
            "tool_responses": self.tool_responses,
            "context_updates": self.context_updates,
            "replies": self.replies,
            "history": self.history,
            "restored_history": self.restored_history,
            "handles": self.handles,
            "goaways": self.goaways,
        }


class Registry:
    """Open and closed connections (the oldest closed ones are forgotten past `keep`)."""

    def __init__(self, keep: int = 1000) -> None:
        self.keep = keep
        self.records: OrderedDict[str, ConnectionRecord] = OrderedDict()
        self.live: dict[str, LiveControl] = {}
        # Transcripts for the next speech turn of whichever connection has one first.
        self.pending_transcripts: list[str] = []

    def opened(self, record: ConnectionRecord, control: LiveControl) -> None:
        self.records[record.id] = record
        self.live[record.id] = control
        closed = [r.id for r in self.records.values() if not r.open]
        for rid in closed[: max(0, len(closed) - self.keep)]:
            del self.records[rid]

    def closed(self, record: ConnectionRecord, code: int | None, reason: str) -> None:
        if record.ended is None:
            record.ended = time.time()
            record.close_code = code
            record.close_reason = reason
        self.live.pop(record.id, None)

    def take_transcript(self) -> str | None:
        return self.pending_transcripts.pop(0) if self.pending_transcripts else None

    def reset(self) -> None:
        """Forget closed connections and queued transcripts (open ones stay listed)."""
        for rid in [r.id for r in self.records.values() if not r.open]:
            del self.records[rid]
        self.pending_transcripts.clear()
