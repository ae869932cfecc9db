"""Session ownership and records in JetStream KV.

A session is owned by exactly one bridge through a lease: a key in a bucket whose entries expire
`lease_ttl` after their last write (bucket TTL, which every NATS 2.x server honours). The owner
renews it with compare-and-set; a bridge that dies stops renewing and the key disappears, so
another bridge can create it. A bridge that finds the key rewritten by someone else has lost the
session and lets it go. The session record keeps what a new owner needs beyond the client's
setup: the latest upstream resumption handle.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KeyValue

from . import subjects


async def _bucket(js: JetStreamContext, name: str, ttl: float, replicas: int) -> KeyValue:
    try:
        return await js.key_value(name)
    except NotFoundError:
        return await js.create_key_value(KeyValueConfig(
            bucket=name, history=1, ttl=ttl, storage=StorageType.FILE, replicas=replicas))


@dataclass
class SessionStore:
    leases: KeyValue
    records: KeyValue

    @classmethod
    async def open(cls, js: JetStreamContext, lease_ttl_s: float, record_ttl_s: float,
                   replicas: int = 1) -> SessionStore:
        return cls(await _bucket(js, subjects.KV_SESSION_LEASES, lease_ttl_s, replicas),
                   await _bucket(js, subjects.KV_SESSIONS, record_ttl_s, replicas))

    async def record(self, session_id: str) -> dict[str, Any]:
        try:
            entry = await self.records.get(session_id)
        except (KeyNotFoundError, NotFoundError):
            return {}
        if entry is None or not entry.value:
            return {}
        data: dict[str, Any] = json.loads(entry.value)
        return data

    async def save(self, session_id: str, **fields: Any) -> None:
        rec = await self.record(session_id)
        rec.update(fields, updated=time.time())
        await self.records.put(session_id, json.dumps(rec).encode())


class LeaseLost(Exception):
    """Another owner holds the session now."""


class Lease:
    """Renewals and the release are serialized: once released, a renewal still under way (or a
    later one) never writes the key again, so a released lease is never re-created."""

    def __init__(self, kv: KeyValue, session_id: str, owner: str) -> None:
        self.kv = kv
        self.key = session_id
        self.owner = owner.encode()
        self.revision = 0
        self.released = False
        self.unavailable = False  # the last acquire failed for NATS, not for another owner
        self._lock = asyncio.Lock()

    async def acquire(self, timeout: float) -> bool:
        """Take the lease, waiting (up to `timeout`) for a previous owner's to expire."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.revision = await self.kv.create(self.key, self.owner)
                return True
            except KeyWrongLastSequenceError:
                self.unavailable = False
                if await self._already_mine():
                    return True
            except (KeyNotFoundError, NotFoundError):
                # create() looks the key up after a conflict; the old lease may expire in
                # between, and the next attempt succeeds.
                pass
            except Exception:
                # NATS away or a leader change; the create may have been stored unanswered.
                self.unavailable = True
                with contextlib.suppress(Exception):
                    if await self._already_mine():
                        return True
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)

    async def _already_mine(self) -> bool:
        try:
            entry = await self.kv.get(self.key)
        except (KeyNotFoundError, NotFoundError):
            return False
        if entry.value == self.owner and entry.revision is not None:
            self.revision = entry.revision
            return True
        return False

    async def renew(self) -> None:
        """Raises LeaseLost when someone else owns it; re-creates it when it merely expired
        (a NATS outage longer than the TTL). Does nothing once released."""
        async with self._lock:
            if not self.released:
                await self._renew()

    async def _renew(self) -> None:
        try:
            self.revision = await self.kv.update(self.key, self.owner, last=self.revision)
            return
        except KeyWrongLastSequenceError:
            pass
        try:
            entry = await self.kv.get(self.key)
        except (KeyNotFoundError, NotFoundError):
            entry = None
        if entry is not None and entry.value and entry.value != self.owner:
            raise LeaseLost(entry.value.decode())
        if entry is not None and entry.value == self.owner and entry.revision is not None:
            # An earlier renewal was stored but its answer was lost (a timeout while the
            # stream elected a leader): the lease is still ours, at that revision.
            self.revision = entry.revision
            return
        try:
            self.revision = await self.kv.create(self.key, self.owner)
        except (KeyNotFoundError, NotFoundError):
            return  # expired between the two calls: the next renewal creates it
        except KeyWrongLastSequenceError:
            if not await self._already_mine():  # our own create, answered too late
                raise LeaseLost("taken while renewing") from None

    async def release(self) -> None:
        self.released = True  # a renewal waiting for the lock will not write
        async with self._lock:
            with contextlib.suppress(Exception):  # it expires by itself anyway
                await self.kv.delete(self.key, last=self.revision)
