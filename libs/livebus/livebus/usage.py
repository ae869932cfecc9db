"""Token usage by direction and modality, and its running totals per user and day in JetStream KV.

Several bridges write at once without coordinating: each opening of a session (a session id and
its epoch) writes only its own key, `<day>.<user key>.<session>.<epoch>`, with that opening's
totals for that UTC day; a user's day is the sum of its keys. No read-modify-write, so no lost
update and nothing counted twice when a session moves to another bridge.

A session in a room (an ephemeral token's `livebus.room`) has the room as a fifth key token,
`<day>.<user key>.<session>.<epoch>.<room>`, so a room's day is one subject filter
(`<day>.*.*.*.<room>`) and a user's (`<day>.<user key>.>`) still finds every key of theirs.

Reads list the matching keys from one server-side snapshot of the bucket's subjects (STREAM.INFO
with that filter), then get each: a KV watch's end-of-listing check can see its consumer's info
before the first message arrives, and then it lists nothing (one clean-clone run in many).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import KeyDeletedError, KeyNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from . import subjects

# usageMetadata's counts, by the direction livebus names them.
DIRECTIONS = ("prompt", "response", "cached", "thoughts", "tool_use")
MODALITIES = ("text", "audio", "image", "video", "document", "other")
Tokens = dict[str, dict[str, int]]  # direction -> modality -> tokens


ROOM = re.compile(r"[A-Za-z0-9_-]{1,64}")  # one KV key token as it is: no '.', '*', '>'


def valid_room(room: str) -> bool:
    return ROOM.fullmatch(room) is not None


def user_key(user: str) -> str:
    """A user name as one KV key token (names may hold any character)."""
    return hashlib.sha256(user.encode()).hexdigest()[:32]


def day_of(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d")


def valid_day(day: str) -> bool:
    try:
        return dt.datetime.strptime(day, "%Y-%m-%d").strftime("%Y-%m-%d") == day
    except ValueError:
        return False


def add(into: Tokens, direction: str, modality: str, n: int) -> None:
    if n > 0:
        row = into.setdefault(direction, {})
        row[modality] = row.get(modality, 0) + n


def total(tokens: Tokens) -> int:
    """Billed tokens: prompt + response + thoughts + tool-use prompt (cached is within prompt)."""
    return sum(sum(row.values()) for d, row in tokens.items() if d != "cached")


def summed(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Totals over several session records (the shape the REST API returns)."""
    tokens: Tokens = {}
    seconds = 0.0
    sessions: set[str] = set()
    messages = 0
    for rec in records:
        for direction, row in (rec.get("tokens") or {}).items():
            for modality, n in row.items():
                add(tokens, direction, modality, int(n))
        seconds += float(rec.get("seconds") or 0.0)
        messages += int(rec.get("messages") or 0)
        sessions.add(str(rec.get("session", "")))
    return {"tokens": tokens, "totalTokens": total(tokens), "seconds": round(seconds, 3),
            "minutes": round(seconds / 60, 3), "sessions": len(sessions - {""}),
            "usageMessages": messages}


class UsageStore:
    def __init__(self, kv: KeyValue, js: JetStreamContext) -> None:
        self.kv = kv
        self.js = js

    @classmethod
    async def open(cls, js: JetStreamContext, ttl_s: float, replicas: int = 1) -> UsageStore:
        try:
            kv = await js.key_value(subjects.KV_USAGE)
        except NotFoundError:
            kv = await js.create_key_value(KeyValueConfig(
                bucket=subjects.KV_USAGE, history=1, ttl=ttl_s, storage=StorageType.FILE,
                replicas=replicas))
        return cls(kv, js)

    @staticmethod
    def key(day: str, user: str, session_id: str, epoch: int, room: str = "") -> str:
        key = f"{day}.{user_key(user)}.{subjects.token(session_id)}.{epoch}"
        if room:
            if not valid_room(room):
                raise ValueError("not a room id")
            key += "." + room
        return key

    async def put(self, record: dict[str, Any]) -> None:
        key = self.key(record["day"], record["user"], record["session"], record["epoch"],
                       str(record.get("room") or ""))
        await self.kv.put(key, json.dumps(record, separators=(",", ":")).encode())

    async def records(self, day: str, user: str | None = None) -> list[dict[str, Any]]:
        """Every session record of `day` (of one user, if given)."""
        return await self._matching(f"{day}.{user_key(user)}.>" if user is not None
                                    else f"{day}.>")

    async def room_records(self, day: str, room: str) -> list[dict[str, Any]]:
        """Every session record of `day` in `room` (a valid room id)."""
        if not valid_room(room):
            raise ValueError("not a room id")
        return [r for r in await self._matching(f"{day}.*.*.*.{room}") if r.get("room") == room]

    async def _matching(self, pattern: str) -> list[dict[str, Any]]:
        prefix = subjects.kv_key(subjects.KV_USAGE, "")
        info = await self.js.stream_info(subjects.kv_stream(subjects.KV_USAGE),
                                         subjects_filter=subjects.kv_key(subjects.KV_USAGE,
                                                                         pattern))
        found: list[dict[str, Any]] = []
        for subject in sorted(info.state.subjects or {}):
            try:
                entry = await self.kv.get(subject.removeprefix(prefix))
            except (KeyNotFoundError, KeyDeletedError):  # expired since the snapshot
                continue
            if entry.value:
                with contextlib.suppress(ValueError):
                    found.append(json.loads(entry.value))
        return found
