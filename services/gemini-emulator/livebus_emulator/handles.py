"""Session resumption handles: opaque strings that map to a saved conversation, for a while."""

from __future__ import annotations

import copy
import secrets
import threading
import time
from dataclasses import dataclass

from livebus_emulator.events import JsonObject


@dataclass(frozen=True)
class Snapshot:
    session_id: str  # the session that issued the handle
    connection_id: str
    history: list[JsonObject]
    issued: float  # time.time()


class HandleStore:
    """Handles kept in process memory; each stays valid `ttl_s` after it was issued."""

    def __init__(self, ttl_s: float = 7200.0) -> None:
        self.ttl_s = ttl_s
        self._items: dict[str, Snapshot] = {}
        self._lock = threading.Lock()

    def issue(self, session_id: str, connection_id: str, history: list[JsonObject]) -> str:
        handle = "h-" + secrets.token_urlsafe(24)
        snap = Snapshot(session_id, connection_id, copy.deepcopy(history), time.time())
        with self._lock:
            self._expire()
            self._items[handle] = snap
        return handle

    def get(self, handle: str) -> Snapshot | None:
        with self._lock:
            self._expire()
            snap = self._items.get(handle)
        if snap is None:
            return None
        return Snapshot(snap.session_id, snap.connection_id, copy.deepcopy(snap.history),
                        snap.issued)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def _expire(self) -> None:
        cutoff = time.time() - self.ttl_s
        for handle in [h for h, s in self._items.items() if s.issued < cutoff]:
            del self._items[handle]
