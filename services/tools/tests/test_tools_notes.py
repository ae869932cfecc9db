"""Notes are scoped to the exact user: keys cannot collide, a note never reaches another user,
and a call without a user is refused (a real nats-server and tools service)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nats.aio.client import Client as NATS

from livebus import bus, subjects
from livebus import toolcalls as tc
from livebus_tools.builtin import notes
from livebus_tools.context import ToolError
from livebus_tools.loader import build_registry
from livebus_tools.service import ToolsService
from livebus_tools.settings import ToolsSettings

StartService = Callable[..., Awaitable[ToolsService]]  # the start_service fixture

KV_KEY = re.compile(r"^[-/_=.a-zA-Z0-9]+$")  # what JetStream KV accepts
TRICKY = ["a.b", "a_b", "a/b", "a-b", "a=b", "a", "A", "a ", " a", "a\x00", "a\x00b", "ä",
          "a\u0308", "\ud800", "*", ">", "a.*", "u2.a", "u.YQ==", "YQ==", "x" * 10_000,
          "token:12345678", "server"]


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[NATS]:
    c = await bus.connect(nats_url, "test-notes")
    yield c
    await c.close()


def test_tricky_users_get_distinct_valid_fixed_length_keys() -> None:
    keys = [notes.user_key(u) for u in TRICKY]
    assert len(set(keys)) == len(TRICKY)
    assert all(KV_KEY.match(k) and len(k) == 67 and k.startswith("u2.") for k in keys), keys
    with pytest.raises(ToolError):
        notes.user_key("")


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1), st.text(min_size=1))
def test_different_users_never_share_a_key(a: str, b: str) -> None:
    assert (notes.user_key(a) == notes.user_key(b)) == (a == b)
    assert KV_KEY.match(notes.user_key(a))


async def _call(nc: NATS, name: str, args: Mapping[str, object], user: str, sid: str = "s-notes",
                call_id: str | None = None) -> tc.ToolReply:
    return await tc.call_tool(nc, name, dict(args), call_id or uuid.uuid4().hex, user, sid, 5.0)


def _said(reply: tc.ToolReply) -> list[str]:
    output: dict[str, list[dict[str, str]]] = reply.get("output") or {}
    return [n["note"] for n in output.get("notes", [])]


async def test_a_note_is_never_returned_to_another_user(start_service: StartService,
                                                        nc: NATS) -> None:
    await start_service(build_registry(ToolsSettings()))
    run = uuid.uuid4().hex[:8]
    users = [f"{u}-{run}" for u in ("a.b", "a_b", "a/b", "a\x00", "A.b")] + [f"a.b-{run}\x00"]
    secrets = {u: f"secret of {u!r}" for u in users}
    for u in users:
        assert (await _call(nc, "remember", {"note": secrets[u]}, u))["output"]["saved"]
    for reader in users:
        assert _said(await _call(nc, "recall", {"limit": 50}, reader)) == [secrets[reader]]
        for other in users:
            if other != reader:
                found = await _call(nc, "recall", {"query": secrets[other]}, reader)
                assert secrets[other] not in _said(found), (reader, other)


async def test_a_replayed_call_id_never_answers_another_user(start_service: StartService,
                                                             nc: NATS) -> None:
    """The reply cache is per user: B reusing A's session id and call id gets B's own notes."""
    await start_service(build_registry(ToolsSettings()))
    run = uuid.uuid4().hex[:8]
    ann, bob = f"ann-{run}", f"bob-{run}"
    await _call(nc, "remember", {"note": "ann's door code 4711"}, ann)
    await _call(nc, "remember", {"note": "bob's note"}, bob)
    first = await _call(nc, "recall", {}, ann, sid="shared", call_id="call-1")
    assert _said(first) == ["ann's door code 4711"]
    again = await _call(nc, "recall", {}, bob, sid="shared", call_id="call-1")
    assert _said(again) == ["bob's note"], again


async def test_calls_without_a_user_are_refused(start_service: StartService, nc: NATS) -> None:
    await start_service(build_registry(ToolsSettings()))
    for name, args in (("remember", {"note": "nobody's"}), ("recall", {})):
        r = await _call(nc, name, args, "")
        assert r["error"]["code"] == tc.TOOL_ERROR, r
        # Absent, null, or not a string: never someone's notes.
        for user in ({}, {"user": None}, {"user": 0}, {"user": ["x"]}, {"user": 123}):
            body = {"id": uuid.uuid4().hex, "name": name, "args": args, **user}
            msg = await nc.request(subjects.tool_call(name), json.dumps(body).encode(),
                                   timeout=5)
            reply = json.loads(msg.data)
            assert reply["error"]["code"] in (tc.TOOL_ERROR, tc.BAD_REQUEST), (user, reply)
    kv = await nc.jetstream().key_value(subjects.KV_TOOL_NOTES)
    assert notes.user_key("123") not in await kv.keys()


async def test_notes_under_the_earlier_key_are_still_read(start_service: StartService,
                                                          nc: NATS) -> None:
    await start_service(build_registry(ToolsSettings()))
    user = f"old-{uuid.uuid4().hex[:8]}"
    kv = await nc.jetstream().key_value(subjects.KV_TOOL_NOTES)
    legacy = notes.legacy_key(user)
    assert legacy is not None
    await kv.put(legacy, json.dumps([{"note": "from before", "topic": "", "saved_at": 1}])
                 .encode())
    assert _said(await _call(nc, "recall", {}, user)) == ["from before"]
    await _call(nc, "remember", {"note": "new"}, user)
    assert _said(await _call(nc, "recall", {}, user)) == ["new", "from before"]
    entry = await kv.get(notes.user_key(user))
    assert [n["note"] for n in json.loads(entry.value or b"[]")] == ["from before", "new"]
