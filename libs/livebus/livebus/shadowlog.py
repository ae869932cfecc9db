"""The shadow log: every turn of a session, in order, durable in JetStream.

What the user said (input transcription, typed text, image references), what the model said
(output transcription or text), tool calls and results. A bridge that must open a fresh upstream
session (a rejected resumption handle, a context that collapsed) rebuilds the conversation from it.
"""

from __future__ import annotations

import time
from typing import Literal

from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError
from prometheus_client import Counter
from pydantic import BaseModel

from . import subjects

MSG_ID = "Nats-Msg-Id"  # JetStream drops a second message with the same id (within 2 min)

APPEND_RETRIES = Counter("livebus_shadow_append_retries_total",
                         "Shadow log appends that failed and are tried again")
DROPPED = Counter("livebus_shadow_dropped_total",
                  "Shadow log entries given up (the pending buffer was full, or the session "
                  "ended before they could be written)")

Role = Literal["user", "model", "tool_call", "tool_result"]


class Entry(BaseModel):
    role: Role
    kind: Literal["speech", "text", "image", "call"] = "text"
    text: str = ""
    at: float = 0.0
    # A server tool's call or result: kept for rebuilding context, never shown to a client.
    server: bool = False


async def ensure_stream(js: JetStreamContext, max_age_s: float = 7 * 86400,
                        replicas: int = 1) -> None:
    config = StreamConfig(name=subjects.SHADOW_STREAM, subjects=[subjects.SHADOW_ALL],
                          storage=StorageType.FILE, max_age=max_age_s, num_replicas=replicas)
    try:
        await js.stream_info(subjects.SHADOW_STREAM)
    except NotFoundError:
        await js.add_stream(config)


async def append(js: JetStreamContext, session_id: str, entry: Entry, msg_id: str = "",
                 timeout: float = 1.0) -> None:
    """Append one entry. With `msg_id` (unique per entry, the same on every retry) an append
    whose answer was lost (a leader change) and that is tried again is stored once."""
    if not entry.at:
        entry.at = time.time()
    await js.publish(subjects.shadow(session_id), entry.model_dump_json().encode(),
                     stream=subjects.SHADOW_STREAM, timeout=timeout,
                     headers={MSG_ID: msg_id} if msg_id else None)


async def read(js: JetStreamContext, session_id: str, timeout: float = 2.0) -> list[Entry]:
    """Every entry of a session, oldest first."""
    subject = subjects.shadow(session_id)
    try:
        info = await js.stream_info(subjects.SHADOW_STREAM, subjects_filter=subject)
    except NotFoundError:
        return []
    count = (info.state.subjects or {}).get(subject, 0)
    if not count:
        return []
    sub = await js.subscribe(subject, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
    entries: list[Entry] = []
    try:
        while len(entries) < count:
            msg = await sub.next_msg(timeout=timeout)
            entries.append(Entry.model_validate_json(msg.data))
    except TimeoutError:
        pass
    finally:
        await sub.unsubscribe()
    return entries
