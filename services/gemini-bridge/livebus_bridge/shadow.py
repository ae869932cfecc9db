"""What one session's bridge writes to the shadow log, and how the log becomes history again."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import deque

from google.genai import types
from nats.js import JetStreamContext

from livebus import shadowlog
from livebus.shadowlog import APPEND_RETRIES, DROPPED, Entry

log = logging.getLogger(__name__)


def history_turns(entries: list[Entry]) -> list[types.Content | types.ContentDict]:
    """The shadow log as conversation turns for a fresh upstream session."""
    turns: list[types.Content | types.ContentDict] = []
    for e in entries:
        role, text = {
            "user": ("user", e.text),
            "model": ("model", e.text),
            "tool_call": ("model", f"[tool call] {e.text}"),
            "tool_result": ("user", f"[tool result] {e.text}"),
        }[e.role]
        turns.append(types.Content(role=role, parts=[types.Part(text=text)]))
    return turns


class ShadowRecorder:
    """Collects a session's turns and appends them in order, off the audio path.

    A failed append (NATS away, a stream leader change) is tried again, in order, until it is
    stored or the session ends; each entry has its own message id, so a retry of an append
    that was stored but not answered is not stored twice. At most `max_pending` entries wait;
    past it the oldest is given up (counted)."""

    def __init__(self, js: JetStreamContext, session_id: str, max_pending: int = 4096,
                 retry_max_s: float = 1.0) -> None:
        self.js = js
        self.session_id = session_id
        self.heard = ""  # input transcription of the turn so far
        self.said = ""   # output transcription (or text) of the turn so far
        self.max_pending = max_pending
        self.retry_max_s = retry_max_s
        self._pending: deque[tuple[str, Entry]] = deque()
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    async def history(self) -> list[types.Content | types.ContentDict]:
        return history_turns(await shadowlog.read(self.js, self.session_id))

    def add(self, entry: Entry) -> None:
        entry.at = time.time()
        self._pending.append((uuid.uuid4().hex, entry))
        while len(self._pending) > self.max_pending:
            self._pending.popleft()
            DROPPED.inc()
        self._idle.clear()
        self._ready.set()

    def end_turn(self) -> None:
        if self.heard:
            self.add(Entry(role="user", kind="speech", text=self.heard.strip()))
        if self.said:
            self.add(Entry(role="model", kind="text", text=self.said.strip()))
        self.heard = self.said = ""

    def client_content(self, cc: types.LiveClientContent) -> None:
        for turn in cc.turns or []:
            role = "model" if turn.role == "model" else "user"
            for part in turn.parts or []:
                if part.text:
                    self.add(Entry(role=role, kind="text", text=part.text))
                elif part.inline_data is not None:
                    blob = part.inline_data
                    self.add(Entry(role=role, kind="image", text=(
                        f"[{blob.mime_type} image, {len(blob.data or b'')} bytes]")))

    def tool_call(self, call: types.FunctionCall, server: bool = False) -> None:
        """`server`: a server tool's, hidden from client credentials (still used to rebuild)."""
        self.add(Entry(role="tool_call", kind="call", server=server, text=json.dumps(
            {"id": call.id, "name": call.name, "args": call.args})))

    def tool_result(self, response: types.FunctionResponse, server: bool = False) -> None:
        self.add(Entry(role="tool_result", kind="call", server=server,
                       text=json.dumps({"name": response.name, "response": response.response})))

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def run(self) -> None:
        wait, logged = 0.05, False
        while True:
            await self._ready.wait()
            if not self._pending:
                self._ready.clear()
                self._idle.set()
                continue
            msg_id, entry = self._pending[0]
            try:
                await shadowlog.append(self.js, self.session_id, entry, msg_id)
            except Exception as e:
                APPEND_RETRIES.inc()
                if not logged:  # once per outage, not per retry
                    log.warning("shadow log append failed (%s); retrying", type(e).__name__)
                    logged = True
                await asyncio.sleep(wait)
                wait = min(wait * 2, self.retry_max_s)
                continue
            if self._pending and self._pending[0][0] == msg_id:
                self._pending.popleft()
            wait, logged = 0.05, False

    async def flush(self, timeout: float = 2.0, final: bool = False) -> None:
        """Write what is pending (a half-spoken turn too) before a rebuild may read it; when
        the session ends (`final`), what is still not stored after `timeout` is given up."""
        self.end_turn()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
        if final and self._pending:
            DROPPED.inc(len(self._pending))
            log.warning("%d shadow log entries could not be stored", len(self._pending))
            self._pending.clear()
