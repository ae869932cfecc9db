"""Local turn detection through the whole stack (real NATS, gateway, bridge, emulator): the
bridge sends no audio upstream while nobody speaks, and talking over a reply still cuts it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from converse import Conversation, conversation
from google.genai import types

from livebus_dev.devstack import Stack
from livebus_dev.testing.audio import chunks, silence, speech_like
from livebus_dev.testing.emulator import sessions
from livebus_dev.testing.stack import MODEL, gateway_client, running_stack


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack"),
                       extra_env={"LIVEBUS_BRIDGE_TURN_DETECTION": "local"}) as s:
        yield s


async def test_silence_stays_home_and_barge_in_still_interrupts(local_stack: Stack) -> None:
    async with gateway_client(local_stack).aio as client:
        result: Conversation = await conversation(client)
    assert "speech" in result.spoken.input_text and result.spoken.audio_bytes > 0
    assert result.barge_in.interrupted, "activityStart during the reply interrupts it"
    assert result.after_barge_in.audio_bytes > 0, "the speech that interrupted is answered"
    rec = [s for s in await sessions(local_stack) if s.get("audio_seconds", 0) > 0][-1]
    # The client streamed 1.2 s + 0.8 s of speech, each followed by 0.6 s of silence: upstream
    # got the speech with its prefix (0.3 s) and tail (0.2 s), not the rest of the silence.
    assert rec["audio_seconds"] < 1.2 + 0.6 + 0.8 + 0.6 - 0.3
    assert len(rec["speech_segments"]) == 2


async def test_a_long_silence_sends_no_audio_at_all(local_stack: Stack) -> None:
    config = types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO])
    async with gateway_client(local_stack).aio as client, \
            client.live.connect(model=MODEL, config=config) as session:
        for c in chunks(silence(3.0) + speech_like(0.6) + silence(1.0)):
            await session.send_realtime_input(
                audio=types.Blob(data=c, mime_type="audio/pcm;rate=16000"))
        async for m in session.receive():
            if m.server_content and m.server_content.turn_complete:
                break
    rec = (await sessions(local_stack))[-1]
    assert rec["audio_seconds"] <= 0.6 + 0.3 + 0.2 + 0.02
    assert [round(s["duration_s"], 1) >= 0.6 for s in rec["speech_segments"]] == [True]
