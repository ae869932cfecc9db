"""Conformance with the real google-genai SDK over TLS: no mocks, the SDK's own wire format."""

from __future__ import annotations

import asyncio
import json

import pytest
from emulator_testkit import (
    MODEL,
    MakeEmulator,
    audio_of,
    control,
    input_text,
    jpeg_header,
    model_text,
    only_connection,
    output_text,
    png,
    sdk_client,
    send_pcm,
    silence,
    speech,
    turn,
    until,
)
from google import genai
from google.genai import errors, types

from livebus_emulator import EmulatorServer

TRANSCRIBE = types.LiveConnectConfig(response_modalities=["AUDIO"], input_audio_transcription={},
                                     output_audio_transcription={})
INVENTORY = types.Tool(function_declarations=[types.FunctionDeclaration(
    name="inventory_lookup", description="Stock of a part",
    parameters={"type": "OBJECT", "properties": {"part": {"type": "STRING"}}})])
LONG_TEXT = " ".join(["a long message to keep the model talking for a while"] * 4)


def with_config(**changes: object) -> types.LiveConnectConfig:
    return TRANSCRIBE.model_copy(update=changes)


async def test_spoken_turn_is_answered_with_audio_transcripts_and_usage(
        client: genai.Client, emulator: EmulatorServer) -> None:
    async with client.aio.live.connect(model=MODEL, config=TRANSCRIBE) as session:
        assert session.session_id
        await send_pcm(session, speech(1.2) + silence(0.7))
        messages = await turn(session)
        conn = await only_connection(emulator)
    audio = audio_of(messages)
    assert len(audio) > 24000 * 2 * 0.5  # at least half a second of 24 kHz PCM16
    assert input_text(messages) == "[speech 1.20 s]"
    assert output_text(messages) == "I heard 1.2 seconds of speech."
    flags = [m.server_content for m in messages if m.server_content]
    generation = next(i for i, c in enumerate(flags) if c.generation_complete)
    assert flags[-1].turn_complete and generation < len(flags) - 1
    usage = messages[-1].usage_metadata
    assert usage is not None and usage.prompt_token_count and usage.response_token_count
    assert usage.total_token_count == usage.prompt_token_count + usage.response_token_count
    by_modality = {d.modality: d.token_count for d in usage.prompt_tokens_details or []}
    # TURN_INCLUDES_ONLY_ACTIVITY (the default): the 1.2 s of speech, not the silence, at
    # 32 tokens/s.
    assert 38 <= (by_modality[types.MediaModality.AUDIO] or 0) <= 40
    assert conn["audio_seconds"] == pytest.approx(1.9, abs=0.01)
    detail = await control(emulator, "GET", f"/connections/{conn['id']}")
    assert detail["speech_segments"][0]["duration_s"] == pytest.approx(1.2)


async def test_text_turns_by_client_content_and_realtime_text(client: genai.Client) -> None:
    async with client.aio.live.connect(model=MODEL, config=TRANSCRIBE) as session:
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text="hello")]), turn_complete=True)
        first = await turn(session)
        await session.send_realtime_input(text="second")
        second = await turn(session)
    assert output_text(first) == "You wrote: hello"
    assert output_text(second) == "You wrote: second"
    assert audio_of(second)
    p1 = first[-1].usage_metadata.prompt_token_count  # type: ignore[union-attr]
    p2 = second[-1].usage_metadata.prompt_token_count  # type: ignore[union-attr]
    assert p1 is not None and p2 is not None and p2 > p1  # the prompt grows with history


async def test_text_modality_replies_with_text_parts(client: genai.Client) -> None:
    config = types.LiveConnectConfig(response_modalities=["TEXT"])
    async with client.aio.live.connect(model=MODEL, config=config) as session:
        await session.send_realtime_input(text="hi there")
        messages = await turn(session)
    assert model_text(messages) == "You wrote: hi there"
    assert not audio_of(messages)


async def test_barge_in_interrupts_the_reply(client: genai.Client,
                                             emulator: EmulatorServer) -> None:
    async with client.aio.live.connect(model=MODEL, config=TRANSCRIBE) as session:
        await session.send_realtime_input(text=LONG_TEXT)
        messages = await until(session, lambda m: bool(audio_of([m])))
        await send_pcm(session, speech(0.4))
        messages += await turn(session)
        assert any(m.server_content and m.server_content.interrupted for m in messages)
        assert messages[-1].server_content and messages[-1].server_content.turn_complete
        assert len(output_text(messages)) < len("You wrote: " + LONG_TEXT)
        # The new user turn is then answered normally.
        await send_pcm(session, silence(0.7))
        after = await turn(session)
        assert output_text(after) == "I heard 0.4 seconds of speech."
        conn = await only_connection(emulator)
        detail = await control(emulator, "GET", f"/connections/{conn['id']}")
    assert detail["interruptions"] == 1
    assert detail["replies"][0]["interrupted"] is True


async def test_tool_call_scripted_from_text(client: genai.Client,
                                            emulator: EmulatorServer) -> None:
    config = with_config(tools=[INVENTORY])
    async with client.aio.live.connect(model=MODEL, config=config) as session:
        await session.send_realtime_input(text='check inventory_lookup {"part": "M3 bolt"} now')
        messages = await until(session, lambda m: m.tool_call is not None)
        call = messages[-1].tool_call.function_calls[0]  # type: ignore[union-attr,index]
        assert call.name == "inventory_lookup" and call.args == {"part": "M3 bolt"} and call.id
        result = {"part": "M3 bolt", "count": 42}
        await session.send_tool_response(function_responses=[
            types.FunctionResponse(id=call.id, name=call.name, response=result)])
        rest = await turn(session)
        conn = await only_connection(emulator)
        detail = await control(emulator, "GET", f"/connections/{conn['id']}")
    assert json.dumps(result) in output_text(rest)
    assert rest[-1].server_content and rest[-1].server_content.turn_complete
    assert detail["tool_calls"][0]["args"] == {"part": "M3 bolt"}
    assert detail["tool_responses"][0]["response"] == result


async def test_several_declared_names_give_several_calls(client: genai.Client) -> None:
    tools = [types.Tool(function_declarations=[
        types.FunctionDeclaration(name="get_time"), types.FunctionDeclaration(name="get_place")])]
    async with client.aio.live.connect(model=MODEL, config=with_config(tools=tools)) as session:
        await session.send_realtime_input(text="get_place then get_time")
        messages = await until(session, lambda m: m.tool_call is not None)
        calls = messages[-1].tool_call.function_calls  # type: ignore[union-attr]
        assert [c.name for c in calls or []] == ["get_place", "get_time"]
        assert all(c.args == {} for c in calls or [])
        await session.send_tool_response(function_responses=[
            types.FunctionResponse(id=c.id, name=c.name, response={"ok": c.name})
            for c in calls or []])
        rest = await turn(session)
    assert '{"ok": "get_place"}' in output_text(rest)
    assert '{"ok": "get_time"}' in output_text(rest)


async def test_barge_in_during_a_pending_tool_call_cancels_it(client: genai.Client) -> None:
    config = with_config(tools=[INVENTORY])
    async with client.aio.live.connect(model=MODEL, config=config) as session:
        await session.send_realtime_input(text="inventory_lookup")
        messages = await until(session, lambda m: m.tool_call is not None)
        call_id = messages[-1].tool_call.function_calls[0].id  # type: ignore[union-attr,index]
        await send_pcm(session, speech(0.3))
        rest = await turn(session)
    cancels = [m.tool_call_cancellation for m in rest if m.tool_call_cancellation]
    assert cancels and cancels[0].ids == [call_id]
    assert any(m.server_content and m.server_content.interrupted for m in rest)


async def test_resumption_handle_restores_history(emulator: EmulatorServer,
                                                  client: genai.Client) -> None:
    config = with_config(session_resumption=types.SessionResumptionConfig())
    async with client.aio.live.connect(model=MODEL, config=config) as session:
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text="remember me")]),
            turn_complete=False)
        await session.send_realtime_input(text="hello")
        messages = await turn(session)
        updates = [m.session_resumption_update for m in messages if m.session_resumption_update]
        # A handle for the seeded history, then "not resumable" while generating.
        assert updates[0].resumable and not updates[1].resumable
        after = await until(session, lambda m: m.session_resumption_update is not None)
        update = after[-1].session_resumption_update
        assert update is not None and update.resumable and update.new_handle
        first_prompt = messages[-1].usage_metadata.prompt_token_count  # type: ignore[union-attr]
        first_id = (await only_connection(emulator))["id"]
    resumed = with_config(session_resumption=types.SessionResumptionConfig(
        handle=update.new_handle))
    async with client.aio.live.connect(model=MODEL, config=resumed) as session:
        await session.send_realtime_input(text="again")
        messages = await turn(session)
        conn = await only_connection(emulator)
        detail = await control(emulator, "GET", f"/connections/{conn['id']}")
    assert conn["resumed_from"] == update.new_handle
    texts = [item.get("text") for item in detail["restored_history"]]
    assert texts == ["remember me", "hello", "You wrote: hello"]
    prompt = messages[-1].usage_metadata.prompt_token_count  # type: ignore[union-attr]
    assert prompt is not None and first_prompt is not None and prompt > first_prompt
    sessions = (await control(emulator, "GET", "/sessions"))["sessions"]
    first = next(s for s in sessions if s["id"] == first_id)
    assert first["client_contents"][0]["before_first_turn"] is True
    assert first["open"] is False


async def test_unknown_resumption_handle_closes_1007(client: genai.Client) -> None:
    config = types.LiveConnectConfig(
        session_resumption=types.SessionResumptionConfig(handle="no-such-handle"))
    with pytest.raises(errors.APIError) as caught:
        async with client.aio.live.connect(model=MODEL, config=config) as session:
            await turn(session)
    assert caught.value.code == 1007
    assert "handle" in str(caught.value.details)


async def test_goaway_and_drop_from_the_control_api(emulator: EmulatorServer,
                                                    client: genai.Client) -> None:
    async with client.aio.live.connect(model=MODEL, config=TRANSCRIBE) as session:
        conn = await only_connection(emulator)
        await control(emulator, "POST", f"/connections/{conn['id']}/goaway",
                      {"time_left_s": 30})
        messages = await until(session, lambda m: m.go_away is not None)
        assert messages[-1].go_away and messages[-1].go_away.time_left == "30s"
        await control(emulator, "POST", f"/connections/{conn['id']}/drop",
                      {"code": 1011, "reason": "dropped by test"})
        with pytest.raises(errors.APIError) as caught:
            await turn(session)
    assert caught.value.code == 1011 and caught.value.details == "dropped by test"
    closed = await control(emulator, "GET", f"/connections/{conn['id']}")
    assert closed["close_code"] == 1011 and closed["open"] is False


async def test_connection_lifetime_sends_goaway_then_closes(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(connection_lifetime_s=1.0, goaway_notice_s=0.5)
    async with sdk_client(emu).aio.live.connect(model=MODEL, config=TRANSCRIBE) as session:
        loop = asyncio.get_running_loop()
        started = loop.time()
        messages = await until(session, lambda m: m.go_away is not None)
        assert messages[-1].go_away and messages[-1].go_away.time_left == "0.500s"
        with pytest.raises(errors.APIError) as caught:
            await turn(session)
        assert 0.8 < loop.time() - started < 3
    assert caught.value.code == 1008


async def test_session_limit_without_compression(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(av_session_limit_s=0.5)
    client = sdk_client(emu)
    async with client.aio.live.connect(model=MODEL, config=TRANSCRIBE) as session:
        await session.send_realtime_input(video=types.Blob(data=jpeg_header(64, 48),
                                                           mime_type="image/jpeg"))
        with pytest.raises(errors.APIError) as caught:
            await turn(session)
    assert caught.value.code == 1011
    compressed = with_config(context_window_compression=types.ContextWindowCompressionConfig(
        sliding_window=types.SlidingWindow()))
    async with client.aio.live.connect(model=MODEL, config=compressed) as session:
        await session.send_realtime_input(video=types.Blob(data=jpeg_header(64, 48),
                                                           mime_type="image/jpeg"))
        await asyncio.sleep(0.8)
        await session.send_realtime_input(text="still here")
        answer = output_text(await turn(session))
    assert answer == "You wrote: still here. I also saw 1 frame, 64 by 48."


async def test_video_frames_are_counted_with_sizes(emulator: EmulatorServer,
                                                   client: genai.Client) -> None:
    # Frames sent before the speech count only with a turn coverage that takes all video.
    config = with_config(realtime_input_config=types.RealtimeInputConfig(
        turn_coverage=types.TurnCoverage.TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO))
    async with client.aio.live.connect(model=MODEL, config=config) as session:
        await session.send_realtime_input(video=types.Blob(data=jpeg_header(640, 480),
                                                           mime_type="image/jpeg"))
        await session.send_realtime_input(media=types.Blob(data=png(512, 384),
                                                           mime_type="image/png"))
        await session.send_realtime_input(video=types.Blob(data=jpeg_header(512, 384),
                                                           mime_type="image/jpeg"))
        await send_pcm(session, speech(0.8) + silence(0.6))
        messages = await turn(session)
        conn = await only_connection(emulator)
        detail = await control(emulator, "GET", f"/connections/{conn['id']}")
    assert output_text(messages) == ("I heard 0.8 seconds of speech and saw 3 frames, "
                                      "the last 512 by 384.")
    assert conn["frame_count"] == 3
    assert [(f["width"], f["height"], f["mime"]) for f in detail["frames"]] == [
        (640, 480, "image/jpeg"), (512, 384, "image/png"), (512, 384, "image/jpeg")]
    assert detail["frames"][1]["bytes"] == len(png(512, 384))
    usage = messages[-1].usage_metadata
    images = {d.modality: d.token_count for d in usage.prompt_tokens_details or []}  # type: ignore[union-attr]
    assert images[types.MediaModality.IMAGE] == 3 * 258


async def test_manual_activity_signals(client: genai.Client, emulator: EmulatorServer) -> None:
    config = with_config(realtime_input_config=types.RealtimeInputConfig(
        automatic_activity_detection=types.AutomaticActivityDetection(disabled=True)))
    async with client.aio.live.connect(model=MODEL, config=config) as session:
        # Without activity signals, speech followed by silence is not a turn.
        await send_pcm(session, speech(0.5) + silence(1.0))
        await session.send_realtime_input(activity_start=types.ActivityStart())
        await send_pcm(session, silence(0.5) + speech(0.5))
        await session.send_realtime_input(activity_end=types.ActivityEnd())
        messages = await turn(session)
        conn = await only_connection(emulator)
    assert input_text(messages) == "[speech 1.00 s]"
    assert conn["turns"] == 1


async def test_transcript_override_and_tool_call_from_speech(client: genai.Client,
                                                             emulator: EmulatorServer) -> None:
    async with client.aio.live.connect(model=MODEL,
                                       config=with_config(tools=[INVENTORY])) as session:
        conn = await only_connection(emulator)
        await control(emulator, "POST", f"/connections/{conn['id']}/transcript",
                      {"text": 'how many? inventory_lookup {"part": "washer"}'})
        await send_pcm(session, speech(0.6) + silence(0.6))
        messages = await until(session, lambda m: m.tool_call is not None)
        assert input_text(messages) == 'how many? inventory_lookup {"part": "washer"}'
        call = messages[-1].tool_call.function_calls[0]  # type: ignore[union-attr,index]
        assert call.args == {"part": "washer"}
        await session.send_tool_response(function_responses=[
            types.FunctionResponse(id=call.id, name=call.name, response={"count": 7})])
        assert '{"count": 7}' in output_text(await turn(session))


async def test_trailing_slash_base_url(emulator: EmulatorServer) -> None:
    client = sdk_client(emulator, trailing_slash=True)
    async with client.aio.live.connect(model=MODEL, config=TRANSCRIBE) as session:
        await session.send_realtime_input(text="slash")
        assert output_text(await turn(session)) == "You wrote: slash"
    conn = (await control(emulator, "GET", "/sessions"))["sessions"][0]
    assert conn["path"].startswith("/ws/google.ai.generativelanguage.v1beta")


async def test_bad_api_key_closes_1007(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(api_keys="good-key,other-key")
    with pytest.raises(errors.APIError) as caught:
        async with sdk_client(emu, api_key="bad").aio.live.connect(model=MODEL) as session:
            await turn(session)
    assert caught.value.code == 1007
    assert caught.value.details == "API key not valid. Please pass a valid API key."
    async with sdk_client(emu, api_key="other-key").aio.live.connect(model=MODEL) as session:
        await session.send_realtime_input(text="ok")
        await turn(session)


async def test_reply_delay_and_pace(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(reply_delay_ms=300, pace=0)
    async with sdk_client(emu).aio.live.connect(model=MODEL, config=TRANSCRIBE) as session:
        loop = asyncio.get_running_loop()
        await session.send_realtime_input(text="timing")
        sent = loop.time()
        first = await until(session, lambda m: bool(audio_of([m])))
        waited = loop.time() - sent
        await turn(session)
    assert 0.3 <= waited < 1.5
    assert first

