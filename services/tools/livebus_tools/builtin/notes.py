"""remember / recall: short notes kept in JetStream KV, one entry per user.

The user comes with each call from the bridge (the session token's claims), so one user never
sees another's notes. A key is a hash of the exact user string ("u2." + 64 hex digits): fixed
length whatever the user, made only of KV key characters, and no user string can name another
user's key ("a.b" and "a_b", or "a" and "a\x00", are different keys). Notes saved under the
earlier key (the user in URL-safe base64, also one-to-one) are still read, and move to the new
key with the user's next note.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import random
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pydantic import Field

from livebus import subjects

from ..context import ResourceEnv, ToolContext, ToolError, resource
from ..registry import tool

MAX_NOTE_CHARS = 1000
# One writer per user per replica; replicas still race, and settle it by the KV revision.
_locks: dict[str, tuple[asyncio.Lock, int]] = {}


@contextlib.asynccontextmanager
async def _user_lock(key: str) -> AsyncIterator[None]:
    lock, users = _locks.get(key, (asyncio.Lock(), 0))
    _locks[key] = (lock, users + 1)
    try:
        async with lock:
            yield
    finally:
        lock, users = _locks[key]
        if users == 1:
            del _locks[key]
        else:
            _locks[key] = (lock, users - 1)


@resource
async def notes_bucket(env: ResourceEnv) -> AsyncIterator[tuple[KeyValue, int]]:
    js = env.nc.jetstream()
    try:
        kv = await js.key_value(subjects.KV_TOOL_NOTES)
    except BucketNotFoundError:
        kv = await js.create_key_value(bucket=subjects.KV_TOOL_NOTES, history=1,
                                       replicas=env.settings.js_replicas,
                                       description="livebus remember/recall notes, per user")
    yield kv, env.settings.max_notes


def _user_bytes(user: str) -> bytes:
    if not user:
        raise ToolError("notes need a signed-in user, and this session has none")
    return user.encode("utf-8", "surrogatepass")  # one-to-one on every str, lone surrogates too


def user_key(user: str) -> str:
    digest = hashlib.sha256(b"livebus-notes\x00" + _user_bytes(user)).hexdigest()
    return "u2." + digest


def legacy_key(user: str) -> str | None:
    """The key notes had before user_key (None when too long to be a KV subject)."""
    key = "u." + base64.urlsafe_b64encode(_user_bytes(user)).decode()
    return key if len(key) <= 1024 else None


async def _get(kv: KeyValue, key: str) -> tuple[list[dict[str, Any]], int | None] | None:
    try:
        entry = await kv.get(key)
    except KeyNotFoundError:
        return None
    notes: list[dict[str, Any]] = json.loads(entry.value or b"[]")
    return notes, entry.revision


async def _load(kv: KeyValue, user: str) -> tuple[list[dict[str, Any]], int | None]:
    """The user's notes and their revision (None: not under user_key yet)."""
    found = await _get(kv, user_key(user))
    if found is not None:
        return found
    old = legacy_key(user)
    legacy = await _get(kv, old) if old is not None else None
    return (legacy[0], None) if legacy is not None else ([], None)


@tool(timeout=5.0, uses=[notes_bucket])
async def remember(
    ctx: ToolContext,
    note: Annotated[str, Field(min_length=1, max_length=MAX_NOTE_CHARS)],
    topic: str | None = None,
) -> dict[str, Any]:
    """Save a short note for this user, to recall in a later conversation.

    Args:
        note: What to remember, in a sentence.
        topic: A word or two to group the note under, for example "car" or "shopping".
    """
    kv, max_notes = ctx.get(notes_bucket)
    key = user_key(ctx.user)
    async with _user_lock(key):
        for attempt in range(20):
            notes, rev = await _load(kv, ctx.user)
            notes.append({"note": note, "topic": topic or "", "saved_at": round(time.time())})
            notes = notes[-max_notes:]
            data = json.dumps(notes).encode()
            try:
                if rev is None:
                    await kv.create(key, data)
                else:
                    await kv.update(key, data, last=rev)
            except KeyWrongLastSequenceError:
                await asyncio.sleep(random.uniform(0, 0.005 * (attempt + 1)))
                continue
            return {"saved": True, "notes_kept": len(notes)}
    raise ToolError("the notes changed too often to save; try again")


@tool(timeout=5.0, uses=[notes_bucket])
async def recall(
    ctx: ToolContext,
    query: str | None = None,
    limit: Annotated[int, Field(ge=1, le=50)] = 10,
) -> dict[str, Any]:
    """Recall notes saved earlier for this user, newest first.

    Args:
        query: Words to look for in the note or its topic. Omit it to get the latest notes.
        limit: How many notes to return at most.
    """
    kv, _ = ctx.get(notes_bucket)
    notes, _rev = await _load(kv, ctx.user)
    words = (query or "").lower().split()
    hits = [n for n in reversed(notes)
            if all(w in f"{n['note']} {n['topic']}".lower() for w in words)]
    return {"notes": hits[:limit], "count": len(hits[:limit])}
