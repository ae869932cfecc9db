"""`GET /livebus/v1/usage/...`: a user's, a server key's or a room's token usage for one UTC
day, summed from every session's totals in JetStream KV (written by the bridges;
livebus/usage.py). Server keys only.

- `/livebus/v1/usage/users/{user}?day=YYYY-MM-DD`: a token's `livebus.user` (or any identity
  the gateway gives, e.g. `page:...`, `token:...`).
- `/livebus/v1/usage/keys/{key}?day=...`: a server key's sessions, by its identity (`key:<16
  hex>` as in logs, without the key itself).
- `/livebus/v1/usage/rooms/{room}?day=...`: the sessions whose token named that room
  (`livebus.room`), of any user.
`day` defaults to today (UTC).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from livebus import usage
from livebus.edge import auth
from livebus.usage import UsageStore

from . import metrics

log = logging.getLogger(__name__)

USAGE_TTL_S = 40 * 86400.0  # if no bridge made the bucket yet; the bridges' setting wins
_KEY_ID = re.compile(r"(key:)?([0-9a-f]{16})")
MAX_USER = 200


def _error(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse({"error": {"code": status, "message": message, "status": code}},
                        status_code=status)


async def top_users(state: Any) -> None:
    """Every refresh interval: today's heaviest users into a gauge of bounded cardinality (users
    who drop out of the top lose their series)."""
    s = state.settings
    if s.usage_top_users <= 0:
        return
    store: UsageStore | None = None
    shown: set[str] = set()
    while True:
        try:
            if store is None:
                store = await UsageStore.open(state.bus.main.jetstream(timeout=2.0), USAGE_TTL_S,
                                              s.js_replicas)
            per_user: dict[str, int] = {}
            for rec in await store.records(usage.day_of(time.time())):
                user = str(rec.get("user", ""))
                per_user[user] = per_user.get(user, 0) + usage.total(rec.get("tokens") or {})
            top = dict(sorted(per_user.items(), key=lambda kv: -kv[1])[:s.usage_top_users])
            for gone in shown - set(top):
                metrics.TOP_USER_TOKENS.remove(gone)
            for user, n in top.items():
                metrics.TOP_USER_TOKENS.labels(user).set(n)
            shown = set(top)
        except Exception as e:  # NATS away: the next refresh tries again
            log.warning("could not read today's usage (%s)", type(e).__name__)
        await asyncio.sleep(s.usage_top_refresh_s)


def register(app: FastAPI, state: Any) -> None:
    """Adds the usage routes; `state` is the app's GatewayState (settings, bus)."""
    stores: list[UsageStore] = []

    async def store() -> UsageStore:
        if not stores:
            stores.append(await UsageStore.open(state.bus.main.jetstream(timeout=2.0),
                                                USAGE_TTL_S, state.settings.js_replicas))
        return stores[0]

    def refused(request: Request) -> JSONResponse | str:
        """The day asked for, or why not."""
        cred = auth.credential(request.headers, request.query_params) or ""
        if not auth.is_server_key(cred, state.settings.server_keys()) or state.bus is None:
            return _error(403, "a server key is required", "PERMISSION_DENIED")
        day = request.query_params.get("day") or usage.day_of(time.time())
        if not usage.valid_day(day):
            return _error(400, "day must be YYYY-MM-DD", "INVALID_ARGUMENT")
        return day

    async def answer(request: Request, user: str) -> JSONResponse:
        day = refused(request)
        if isinstance(day, JSONResponse):
            return day
        if not user or len(user) > MAX_USER:
            return _error(400, f"user must have 1 to {MAX_USER} characters", "INVALID_ARGUMENT")
        records = await (await store()).records(day, user)
        mine = [r for r in records if r.get("user") == user]  # the key is a hash of the name
        return JSONResponse({"user": user, "day": day, **usage.summed(mine)})

    @app.get("/livebus/v1/usage/users/{user}")
    async def user_usage(user: str, request: Request) -> JSONResponse:
        return await answer(request, user)

    @app.get("/livebus/v1/usage/keys/{key_id}")
    async def key_usage(key_id: str, request: Request) -> JSONResponse:
        m = _KEY_ID.fullmatch(key_id)
        if m is None:
            return _error(400, "a key is named by its identity, key:<16 hex>",
                          "INVALID_ARGUMENT")
        return await answer(request, "key:" + m.group(2))

    @app.get("/livebus/v1/usage/rooms/{room}")
    async def room_usage(room: str, request: Request) -> JSONResponse:
        day = refused(request)
        if isinstance(day, JSONResponse):
            return day
        if not usage.valid_room(room):
            return _error(400, "a room id is 1 to 64 letters, digits, '_' or '-'",
                          "INVALID_ARGUMENT")
        records = await (await store()).room_records(day, room)
        users = {str(r.get("user", "")) for r in records}
        return JSONResponse({"room": room, "day": day, "users": len(users - {""}),
                             **usage.summed(records)})
