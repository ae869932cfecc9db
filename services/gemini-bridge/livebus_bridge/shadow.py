"""What one session's bridge writes to the shadow log, and how the log becomes history again."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable

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


def content_entries(cc: types.LiveClientContent) -> list[Entry]:
    """A client content's turns as entries (images as references)."""
    out: list[Entry] = []
    for turn in cc.turns or []:
        role = "model" if turn.role == "model" else "user"
        for part in turn.parts or []:
            if part.text:
                out.append(Entry(role=role, kind="text", text=part.text))
            elif part.inline_data is not None:
                blob = part.inline_data
                out.append(Entry(role=role, kind="image", text=(
                    f"[{blob.mime_type} image, {len(blob.data or b'')} bytes]")))
    return out


def tool_result_entry(response: types.FunctionResponse, server: bool = False) -> Entry:
    return Entry(role="tool_result", kind="call", server=server,
                 text=json.dumps({"name": response.name, "response": response.response}))


def event_msg_id(session_id: str, seq: int, index: int, entry: Entry) -> str:
    """The message id of a client control event's `index`-th entry: the same in every bridge
    that logs the event (a successor logging it again is stored once). Its content is in it,
    so an event numbered alike after a stale record is not taken for the earlier one (an
    image's reference is not: its size depends on the downsizing)."""
    text = "" if entry.kind == "image" else entry.text
    digest = hashlib.blake2b(f"{entry.role}|{entry.kind}|{text}".encode(), digest_size=6)
    return f"{session_id}.{seq}.{index}.{digest.hexdigest()}"


class ShadowRecorder:
    """Collects a session's turns and appends them in order, off the audio path.

    A failed append (NATS away, a stream leader change) is tried again, in order, until it is
    stored or the session ends; each entry has its own message id, so a retry of an append
    that was stored but not answered is not stored twice. At most `max_pending` entries wait;
    past it the oldest is given up (counted).

    A client control event's entries are followed by a mark (`mark`): once everything before
    it is stored (or given up), `logged` becomes its seq and `on_logged` is called, so the
    session record can say which control events the log holds."""

    def __init__(self, js: JetStreamContext, session_id: str, max_pending: int = 4096,
                 retry_max_s: float = 1.0) -> None:
        self.js = js
        self.session_id = session_id
        self.heard = ""  # input transcription of the turn so far
        self.said = ""   # output transcription (or text) of the turn so far
        self.max_pending = max_pending
        self.retry_max_s = retry_max_s
        self._pending: deque[tuple[str, Entry | None, int]] = deque()  # None: a mark
        self._entries = 0  # of them, not marks
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.logged = 0  # the control seq up to which every event's entries are stored
        self.on_logged: Callable[[int], None] = lambda seq: None

    async def history(self) -> list[types.Content | types.ContentDict]:
        return history_turns(await shadowlog.read(self.js, self.session_id))

    def add(self, entry: Entry, msg_id: str = "") -> None:
        entry.at = time.time()
        self._put(msg_id or uuid.uuid4().hex, entry, 0)

    def event(self, seq: int, entries: list[Entry]) -> None:
        """The entries of client control event `seq` (0: the bridge's own, not numbered)."""
        for i, entry in enumerate(entries):
            self.add(entry, event_msg_id(self.session_id, seq, i, entry) if seq else "")

    def mark(self, seq: int) -> None:
        """Control event `seq` is logged once everything added before now is stored."""
        self._put("", None, seq)

    def _put(self, msg_id: str, entry: Entry | None, seq: int) -> None:
        self._pending.append((msg_id, entry, seq))
        if entry is not None:
            self._entries += 1
        while self._entries > self.max_pending:
            self._given_up(self._pending.popleft())
        self._idle.clear()
        self._ready.set()

    def _given_up(self, item: tuple[str, Entry | None, int]) -> None:
        if item[1] is not None:
            self._entries -= 1
            DROPPED.inc()

    def end_turn(self) -> None:
        if self.heard:
            self.add(Entry(role="user", kind="speech", text=self.heard.strip()))
        if self.said:
            self.add(Entry(role="model", kind="text", text=self.said.strip()))
        self.heard = self.said = ""

    def tool_call(self, call: types.FunctionCall, server: bool = False) -> None:
        """`server`: a server tool's, hidden from client credentials (still used to rebuild)."""
        self.add(Entry(role="tool_call", kind="call", server=server, text=json.dumps(
            {"id": call.id, "name": call.name, "args": call.args})))

    @property
    def pending(self) -> int:
        """Entries not stored yet."""
        return self._entries

    async def run(self) -> None:
        wait, logged = 0.05, False
        while True:
            await self._ready.wait()
            if not self._pending:
                self._ready.clear()
                self._idle.set()
                continue
            msg_id, entry, seq = self._pending[0]
            if entry is None:
                self._pending.popleft()
                if seq > self.logged:
                    self.logged = seq
                    self.on_logged(seq)
                continue
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
                self._entries -= 1
            wait, logged = 0.05, False

    async def flush(self, timeout: float = 2.0, final: bool = False) -> None:
        """Write what is pending (a half-spoken turn too) before a rebuild may read it; when
        the session ends (`final`), what is still not stored after `timeout` is given up."""
        self.end_turn()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
        if final and self._pending:
            if self._entries:
                log.warning("%d shadow log entries could not be stored", self._entries)
            while self._pending:
                self._given_up(self._pending.popleft())
