"""Usage totals through the gateway's REST API equal the sum of the usageMetadata every session's
client received (the real SDK, the emulator, two bridges, JetStream KV): per user, per server
key, per room."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.genai import types

from livebus import tls, usage
from livebus.edge.auth import key_identity
from livebus_dev.devstack import Stack
from livebus_dev.testing import audio
from livebus_dev.testing.stack import MODEL, gateway_client, mint, running_stack

USER = "meter-ada@example.com"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(Path(tmp_path_factory.mktemp("usage")), bridges=2) as s:
        yield s


async def user_token(stack: Stack, user: str, room: str | None = None) -> str:
    claims = {"user": user} if room is None else {"user": user, "room": room}
    return await mint(stack, {"uses": 1, "livebus": claims})


def add_usage(into: usage.Tokens, u: types.UsageMetadata) -> None:
    for direction, details in (("prompt", u.prompt_tokens_details),
                               ("response", u.response_tokens_details)):
        for d in details or []:
            modality = str(getattr(d.modality, "value", d.modality)).lower()
            usage.add(into, direction, modality, d.token_count or 0)


async def converse(stack: Stack, credential: str, spoken: bool, seen: usage.Tokens) -> None:
    client = gateway_client(stack, credential)
    config = types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO])
    async with client.aio.live.connect(model=MODEL, config=config) as session:
        for text in ("hello there", "and a second turn"):
            await session.send_client_content(
                turns=types.Content(role="user", parts=[types.Part(text=text)]))
            async for msg in session.receive():
                if msg.usage_metadata is not None:
                    add_usage(seen, msg.usage_metadata)
        if spoken:
            for chunk in audio.chunks(audio.speech_like(1.0) + audio.silence(1.2), 40):
                await session.send_realtime_input(
                    audio=types.Blob(data=chunk, mime_type="audio/pcm;rate=16000"))
            async for msg in session.receive():
                if msg.usage_metadata is not None:
                    add_usage(seen, msg.usage_metadata)


async def usage_of(stack: Stack, path: str, key: str | None = None) -> httpx.Response:
    async with httpx.AsyncClient(verify=tls.client_context(stack.ca_file)) as c:
        return await c.get(f"{stack.gateway_https()}/livebus/v1/usage/{path}",
                           headers={"x-goog-api-key": key or stack.api_key})


async def until_total(stack: Stack, path: str, expected: int) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while True:
        r = await usage_of(stack, path)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if body["totalTokens"] == expected or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.25)


async def test_a_users_usage_is_the_sum_of_its_sessions_usage_metadata(stack: Stack) -> None:
    seen: usage.Tokens = {}
    await asyncio.gather(converse(stack, await user_token(stack, USER), True, seen),
                         converse(stack, await user_token(stack, USER), False, seen))
    assert seen["prompt"]["audio"] > 0 and seen["response"]["audio"] > 0
    body = await until_total(stack, f"users/{USER}", usage.total(seen))
    assert body["tokens"] == seen
    assert body["user"] == USER and body["day"] == usage.day_of(time.time())
    assert body["sessions"] == 2 and 0 < body["minutes"] < 5
    other = await until_total(stack, "users/nobody", 0)
    assert other["tokens"] == {} and other["sessions"] == 0


async def test_a_server_keys_usage_and_who_may_read_it(stack: Stack) -> None:
    seen: usage.Tokens = {}
    await converse(stack, stack.api_key, False, seen)
    identity = key_identity(stack.api_key)
    body = await until_total(stack, f"keys/{identity}", usage.total(seen))
    assert body["tokens"] == seen and body["user"] == identity
    token = await user_token(stack, USER)
    assert (await usage_of(stack, f"users/{USER}", key=token)).status_code == 403
    assert (await usage_of(stack, f"users/{USER}", key="wrong")).status_code == 403
    assert (await usage_of(stack, f"users/{USER}?day=2026-13-01")).status_code == 400
    assert (await usage_of(stack, "keys/not-a-key")).status_code == 400


def plus(*parts: usage.Tokens) -> usage.Tokens:
    out: usage.Tokens = {}
    for part in parts:
        for direction, row in part.items():
            for modality, n in row.items():
                usage.add(out, direction, modality, n)
    return out


async def test_a_rooms_usage_is_the_sum_of_its_sessions_of_every_user(stack: Stack) -> None:
    room, elsewhere, mine = "standup-42", "retro_1", "room-ada@example.com"
    a: usage.Tokens = {}
    b: usage.Tokens = {}
    outside: usage.Tokens = {}
    await asyncio.gather(converse(stack, await user_token(stack, mine, room), True, a),
                         converse(stack, await user_token(stack, "room-bo", room), False, b),
                         converse(stack, await user_token(stack, mine, elsewhere), False, outside))
    in_room = plus(a, b)
    body = await until_total(stack, f"rooms/{room}", usage.total(in_room))
    assert body["tokens"] == in_room and body["room"] == room
    assert body["sessions"] == 2 and body["users"] == 2
    assert body["day"] == usage.day_of(time.time())
    other = await until_total(stack, f"rooms/{elsewhere}", usage.total(outside))
    assert other["tokens"] == outside and other["sessions"] == 1
    # The user's own day holds both of that user's rooms.
    user = await until_total(stack, f"users/{mine}", usage.total(plus(a, outside)))
    assert user["tokens"] == plus(a, outside) and user["sessions"] == 2
    assert (await until_total(stack, "rooms/empty-room", 0))["sessions"] == 0
    for bad in ("a.b", "x" * 65, "a%20b", "%2A"):
        assert (await usage_of(stack, f"rooms/{bad}")).status_code == 400, bad
    token = await user_token(stack, mine, room)
    assert (await usage_of(stack, f"rooms/{room}", key=token)).status_code == 403
    async with httpx.AsyncClient(verify=tls.client_context(stack.ca_file)) as c:
        r = await c.post(f"{stack.gateway_https()}/v1alpha/auth_tokens",
                         json={"uses": 1, "livebus": {"room": "a.>"}},
                         headers={"x-goog-api-key": stack.api_key})
    assert r.status_code == 400 and "livebus.room" in r.text
