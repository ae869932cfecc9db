"""usage.py: Google's published token rates, image tokens by media resolution and model."""

from __future__ import annotations

from collections import Counter

import pytest
from emulator_testkit import jpeg_header, sdk_client, send_pcm, silence, speech, turn
from google.genai import types

from livebus import models
from livebus_emulator import EmulatorServer
from livebus_emulator.usage import audio_tokens, image_tokens, text_tokens, usage_metadata
from livebus_emulator.wire import parse_setup

G38 = "models/gemini-3.8-live"
LEGACY = "models/gemini-live-2.5-flash-preview"


def test_audio_is_32_tokens_a_second_and_text_four_characters() -> None:
    assert audio_tokens(60.0) == 1920
    assert audio_tokens(0.5) == 16 and audio_tokens(0.0) == 0
    assert text_tokens("abcdefgh") == 2 and text_tokens("abcdefghi") == 3


@pytest.mark.parametrize(("resolution", "legacy", "gemini3"), [
    (None, 258, 1120), ("MEDIA_RESOLUTION_UNSPECIFIED", 258, 1120),
    ("MEDIA_RESOLUTION_LOW", 64, 280), ("MEDIA_RESOLUTION_MEDIUM", 256, 560),
    ("MEDIA_RESOLUTION_HIGH", 256, 1120), ("low", 64, 280)])
def test_image_tokens_by_media_resolution(resolution: str | None, legacy: int,
                                          gemini3: int) -> None:
    assert image_tokens(resolution, gemini3=False) == legacy
    assert image_tokens(resolution, gemini3=True) == gemini3


def test_the_setup_says_what_an_image_costs() -> None:
    assert models.capabilities(G38).gemini3 and not models.capabilities(LEGACY).gemini3
    low = {"generationConfig": {"mediaResolution": "MEDIA_RESOLUTION_LOW"}}

    def cost(**setup: object) -> int:
        return parse_setup({"setup": setup}).image_tokens

    assert cost(model=G38, **low) == 280
    assert cost(model=G38) == 1120  # Gemini 3 defaults to high
    assert cost(model=LEGACY, **low) == 64
    assert cost(model=LEGACY, generation_config={}) == 258


def test_usage_metadata_totals_and_details() -> None:
    usage = usage_metadata(Counter({"AUDIO": 32, "IMAGE": 280, "TEXT": 0}), Counter({"AUDIO": 64}))
    assert usage == {"promptTokenCount": 312, "responseTokenCount": 64, "totalTokenCount": 376,
                     "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": 32},
                                             {"modality": "IMAGE", "tokenCount": 280}],
                     "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": 64}]}


@pytest.mark.parametrize(("resolution", "per_frame"), [
    (types.MediaResolution.MEDIA_RESOLUTION_LOW, 280), (None, 1120)])
async def test_sdk_sees_frames_priced_by_the_sessions_media_resolution(
        emulator: EmulatorServer, resolution: types.MediaResolution | None,
        per_frame: int) -> None:
    config = types.LiveConnectConfig(
        response_modalities=["AUDIO"], media_resolution=resolution,
        realtime_input_config=types.RealtimeInputConfig(
            turn_coverage=types.TurnCoverage.TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO))
    async with sdk_client(emulator).aio.live.connect(model=G38, config=config) as session:
        for _ in range(2):
            await session.send_realtime_input(video=types.Blob(data=jpeg_header(640, 480),
                                                               mime_type="image/jpeg"))
        await send_pcm(session, speech(0.8) + silence(0.6))
        messages = await turn(session)
    usage = messages[-1].usage_metadata
    assert usage is not None
    found = {d.modality: d.token_count for d in usage.prompt_tokens_details or []}
    assert found[types.MediaModality.IMAGE] == 2 * per_frame
