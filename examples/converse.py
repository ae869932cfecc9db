"""Talk to livebus with the unmodified google-genai SDK: a spoken turn, a typed turn, a barge-in.

    python examples/converse.py                  # against `make run` on this machine

It needs only what `make run` writes to .livebus/: the CA to trust and the server key, which it
uses to mint an ephemeral token exactly as an application backend would. The tests run this same
script against the gateway and straight against the emulator, so it cannot rot.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import sys
from dataclasses import dataclass, field
from pathlib import Path

from google import genai
from google.genai import types
from google.genai.client import AsyncClient

from livebus_dev.testing.audio import chunks, silence, speech_like

MODEL = "models/gemini-live-2.5-flash-preview"
CONFIG = types.LiveConnectConfig(
    response_modalities=[types.Modality.AUDIO],
    input_audio_transcription=types.AudioTranscriptionConfig(),
    output_audio_transcription=types.AudioTranscriptionConfig(),
    realtime_input_config=types.RealtimeInputConfig(
        automatic_activity_detection=types.AutomaticActivityDetection(silence_duration_ms=300)
    ),
)


@dataclass
class Turn:
    audio_bytes: int = 0
    input_text: str = ""
    output_text: str = ""
    text: str = ""
    interrupted: bool = False
    generation_complete: bool = False
    turn_complete: bool = False
    usage: types.UsageMetadata | None = None
    messages: list[types.LiveServerMessage] = field(default_factory=list)


async def read_turn(session: genai.live.AsyncSession, stop_after_audio: int = 0,
                    on_audio: asyncio.Event | None = None) -> Turn:
    """Collect one turn (receive() ends at turnComplete)."""
    turn = Turn()
    async for msg in session.receive():
        turn.messages.append(msg)
        sc = msg.server_content
        if msg.usage_metadata:
            turn.usage = msg.usage_metadata
        if sc is None:
            continue
        if sc.model_turn and sc.model_turn.parts:
            for part in sc.model_turn.parts:
                if part.inline_data and part.inline_data.data:
                    turn.audio_bytes += len(part.inline_data.data)
                if part.text:
                    turn.text += part.text
            if on_audio is not None and turn.audio_bytes >= stop_after_audio:
                on_audio.set()
        if sc.input_transcription and sc.input_transcription.text:
            turn.input_text += sc.input_transcription.text
        if sc.output_transcription and sc.output_transcription.text:
            turn.output_text += sc.output_transcription.text
        turn.interrupted |= bool(sc.interrupted)
        turn.generation_complete |= bool(sc.generation_complete)
        turn.turn_complete |= bool(sc.turn_complete)
    return turn


async def speak(session: genai.live.AsyncSession, seconds: float, realtime: bool = False) -> None:
    """Speech-like audio then silence, in 20 ms chunks (as fast as possible unless realtime)."""
    for chunk in chunks(speech_like(seconds) + silence(0.6)):
        await session.send_realtime_input(
            audio=types.Blob(data=chunk, mime_type="audio/pcm;rate=16000"))
        await asyncio.sleep(0.02 if realtime else 0)


@dataclass
class Conversation:
    spoken: Turn
    typed: Turn
    barge_in: Turn
    after_barge_in: Turn


async def conversation(client: AsyncClient, model: str = MODEL) -> Conversation:
    async with client.live.connect(model=model, config=CONFIG) as session:
        await speak(session, 1.2)
        spoken = await read_turn(session)

        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text="hello livebus")]),
            turn_complete=True)
        typed = await read_turn(session)

        # Barge-in: ask for a reply, then talk over it once its audio starts.
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text="tell me a long story")]),
            turn_complete=True)
        audio_started = asyncio.Event()
        reader = asyncio.create_task(read_turn(session, 1, audio_started))
        await asyncio.wait_for(audio_started.wait(), 10)
        await speak(session, 0.8)
        barge_in = await reader
        after = await read_turn(session)  # the reply to what was said over it
    return Conversation(spoken, typed, barge_in, after)


async def mint_token(server_client: AsyncClient, uses: int = 1) -> str:
    now = dt.datetime.now(dt.UTC)
    token = await server_client.auth_tokens.create(config=types.CreateAuthTokenConfig(
        uses=uses, expire_time=now + dt.timedelta(minutes=30),
        new_session_expire_time=now + dt.timedelta(minutes=1)))
    assert token.name is not None
    return token.name


def _client(base_url: str, key: str, ca: ssl.SSLContext, version: str) -> genai.Client:
    return genai.Client(api_key=key, http_options=types.HttpOptions(
        base_url=base_url, api_version=version, async_client_args={"ssl": ca},
        client_args={"verify": ca}))


async def main(state: Path = Path(".livebus"), base_url: str = "https://127.0.0.1:8443") -> None:
    ca = ssl.create_default_context(cafile=str(state / "ca.pem"))
    async with _client(base_url, (state / "api-key").read_text().strip(), ca, "v1alpha").aio as c:
        token = await mint_token(c)
    async with _client(base_url, token, ca, "v1alpha").aio as c:
        result = await conversation(c)
    for name in ("spoken", "typed", "barge_in", "after_barge_in"):
        turn: Turn = getattr(result, name)
        print(f"{name:15} audio {turn.audio_bytes / 48000:5.2f} s  heard: {turn.input_text!r}  "
              f"said: {turn.output_text!r}{'  [interrupted]' if turn.interrupted else ''}")


if __name__ == "__main__":
    asyncio.run(main(*(sys.argv[1:2] and [Path(sys.argv[1])])))
