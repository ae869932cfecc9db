"""What one session's bridge writes to the shadow log, and how the log becomes history again."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

from google.genai import types
from nats.js import JetStreamContext

from livebus import shadowlog
from livebus.shadowlog import Entry

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
    """Collects a session's turns and appends them in order, off the audio path."""

    def __init__(self, js: JetStreamContext, session_id: str) -> None:
        self.js = js
        self.session_id = session_id
        self.heard = ""  # input transcription of the turn so far
        self.said = ""   # output transcription (or text) of the turn so far
        self._queue: asyncio.Queue[Entry] = asyncio.Queue()

    async def history(self) -> list[types.Content | types.ContentDict]:
        return history_turns(await shadowlog.read(self.js, self.session_id))

    def add(self, entry: Entry) -> None:
        entry.at = time.time()
        self._queue.put_nowait(entry)

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

    async def run(self) -> None:
        while True:
            entry = await self._queue.get()
            try:
                await shadowlog.append(self.js, self.session_id, entry)
            except Exception as e:
                log.warning("shadow log append failed: %s", e)
            finally:
                self._queue.task_done()

    async def flush(self) -> None:
        """Write what is pending (a half-spoken turn too) before a rebuild may read it."""
        self.end_turn()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), 2.0)
