"""The unmodified google-genai SDK converses through the gateway with a token it minted."""

from __future__ import annotations

import datetime as dt

import pytest
from converse import Conversation, conversation, mint_token
from google.genai import errors, types

from livebus_dev.devstack import Stack
from livebus_dev.testing.emulator import sessions
from livebus_dev.testing.stack import emulator_client, gateway_client

START, END = types.VoiceActivityType.ACTIVITY_START, types.VoiceActivityType.ACTIVITY_END


def check(result: Conversation) -> None:
    spoken = result.spoken
    assert spoken.audio_bytes > 24000 * 2 * 0.5, "at least half a second of reply audio"
    assert "speech" in spoken.input_text
    assert "heard" in spoken.output_text.lower()
    assert spoken.generation_complete and spoken.turn_complete
    assert spoken.usage is not None and (spoken.usage.prompt_token_count or 0) > 0

    assert "hello livebus" in result.typed.output_text
    assert result.typed.audio_bytes > 0 and result.typed.turn_complete

    assert result.barge_in.interrupted, "talking over the reply interrupts it"
    assert result.after_barge_in.audio_bytes > 0, "the speech that interrupted is answered"

    # voiceActivity as the upstream's detector sends it, whoever detects the turns: the spoken
    # turn's start and end in the client's audio time, the barge-in's start before `interrupted`.
    activity = [m.voice_activity for m in spoken.messages if m.voice_activity is not None]
    assert [a.voice_activity_type for a in activity] == [START, END]
    assert [float((a.audio_offset or "").removesuffix("s")) for a in activity] == [
        pytest.approx(0.0, abs=0.02), pytest.approx(1.2, abs=0.02)]
    order = [("start" if m.voice_activity.voice_activity_type == START else "end")
             if m.voice_activity else "interrupted"
             for m in result.barge_in.messages
             if m.voice_activity or (m.server_content and m.server_content.interrupted)]
    assert order == ["start", "interrupted"]


async def test_sdk_with_minted_token_through_gateway(stack: Stack) -> None:
    async with gateway_client(stack, api_version="v1alpha").aio as server:
        token = await mint_token(server)
    assert token.startswith("auth_tokens/")
    async with gateway_client(stack, token, api_version="v1alpha").aio as client:
        result = await conversation(client)
    check(result)
    # What the emulator received came through the whole pipeline.
    seen = [s for s in await sessions(stack) if s.get("audio_seconds", 0) > 0]
    assert seen, "the emulator saw the session"
    # Local turn detection (the default): each turn's speech and its first 200 ms of quiet
    # (LIVEBUS_BRIDGE_VAD_TAIL_MS) went upstream, the second with the 300 ms before its onset
    # (LIVEBUS_BRIDGE_VAD_PREFIX_MS), and none of the rest of the quiet.
    tail, prefix = 0.2, 0.3
    assert seen[-1]["audio_seconds"] == pytest.approx(1.2 + tail + prefix + 0.8 + tail, abs=0.05)


async def test_same_script_directly_against_emulator(stack: Stack) -> None:
    """The baseline for the benchmarks: the very same client script, no livebus in between."""
    async with emulator_client(stack).aio as client:
        check(await conversation(client))


def test_sync_sdk_mints_a_token(stack: Stack) -> None:
    now = dt.datetime.now(dt.UTC)
    with gateway_client(stack, api_version="v1alpha") as client:
        token = client.auth_tokens.create(
            config=types.CreateAuthTokenConfig(uses=2, expire_time=now + dt.timedelta(minutes=5)))
    assert token.name and token.name.startswith("auth_tokens/")


async def test_token_minting_needs_a_server_key(stack: Stack) -> None:
    async with gateway_client(stack, api_key="not-a-server-key", api_version="v1alpha").aio as c:
        with pytest.raises(errors.ClientError) as info:
            await c.auth_tokens.create(config=types.CreateAuthTokenConfig(uses=1))
    assert info.value.code == 401


async def test_clean_close_ends_upstream_session(stack: Stack) -> None:
    async with (gateway_client(stack).aio as client,
                client.live.connect(model="models/gemini-live-2.5-flash-preview") as s):
        await s.send_realtime_input(text="hi")
        async for _ in s.receive():
            pass
    # After the client leaves, the emulator no longer holds a live connection for it.
    import asyncio

    from livebus_dev.testing.emulator import control
    for _ in range(50):
        async with control(stack) as c:
            live = (await c.get("/control/connections")).json()
        if not live or (isinstance(live, dict) and not live.get("connections")):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"upstream connection still open: {live}")


async def test_context_compression_is_on_by_default(stack: Stack) -> None:
    """Audio+video sessions end after 2 minutes without it (reference/gemini-live.md)."""
    async with (gateway_client(stack).aio as client,
                client.live.connect(model="models/gemini-live-2.5-flash-preview") as s):
        await s.send_realtime_input(text="hi")
        async for _ in s.receive():
            pass
    setup = (await sessions(stack))[-1]["setup"]
    compression = setup.get("contextWindowCompression") or setup.get("context_window_compression")
    assert compression, setup
    assert "slidingWindow" in str(compression) or "sliding_window" in str(compression)


async def test_livebus_claims_narrow_what_a_token_may_do(stack: Stack) -> None:
    """`livebus` claims ride in the SDK's extra_body; a token for one model opens no other."""
    config = types.CreateAuthTokenConfig(uses=2, http_options=types.HttpOptions(
        extra_body={"livebus": {"user": "alice", "models": ["models/gemini-2.0-flash-live-001"]}}))
    async with gateway_client(stack, api_version="v1alpha").aio as server:
        token = await server.auth_tokens.create(config=config)
    assert token.name
    async with gateway_client(stack, token.name, "v1alpha").aio as client:
        with pytest.raises(errors.APIError) as info:
            async with client.live.connect(model="models/gemini-live-2.5-flash-preview"):
                pass
        assert info.value.code == 1007
        async with client.live.connect(model="models/gemini-2.0-flash-live-001") as s:
            await s.send_realtime_input(text="hi")
            async for _ in s.receive():
                pass
