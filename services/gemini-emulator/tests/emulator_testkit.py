"""Helpers shared by the emulator tests: SDK clients, test signals (PCM16 16 kHz), control calls."""

from __future__ import annotations

import asyncio
import base64
import struct
import zlib
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
from google import genai
from google.genai import live, types

from livebus_emulator import EmulatorServer

MODEL = "models/gemini-live-2.5-flash-preview"
RATE = 16000
PCM_MIME = "audio/pcm;rate=16000"

MakeEmulator = Callable[..., EmulatorServer]


def sdk_client(emu: EmulatorServer, api_key: str = "k", trailing_slash: bool = False,
               api_version: str = "v1beta") -> genai.Client:
    """The stock google-genai client pointed at the emulator (TLS, trusting its dev CA)."""
    return genai.Client(api_key=api_key, http_options={
        "base_url": emu.base_url + ("/" if trailing_slash else ""),
        "api_version": api_version,
        "async_client_args": {"ssl": emu.client_ssl()},
    })


def speech(seconds: float, amplitude: float = 0.3) -> bytes:
    """A speech-like signal: a 150 Hz harmonic tone, amplitude-modulated at 4 Hz."""
    t = np.arange(round(seconds * RATE)) / RATE
    tone = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 6))
    envelope = 0.75 + 0.25 * np.sin(2 * np.pi * 4 * t)
    signal = tone / np.max(np.abs(tone)) * envelope * amplitude
    return bytes(np.round(signal * 32767).astype("<i2").tobytes())


def silence(seconds: float) -> bytes:
    return bytes(round(seconds * RATE) * 2)


async def send_pcm(session: live.AsyncSession, pcm: bytes, chunk_ms: int = 40) -> None:
    step = RATE * 2 * chunk_ms // 1000
    for i in range(0, len(pcm), step):
        await session.send_realtime_input(audio=types.Blob(data=pcm[i:i + step],
                                                           mime_type=PCM_MIME))


async def turn(session: live.AsyncSession, timeout: float = 10.0) -> list[types.LiveServerMessage]:
    """All messages up to and including the next turnComplete."""
    out: list[types.LiveServerMessage] = []
    async with asyncio.timeout(timeout):
        async for message in session.receive():
            out.append(message)
    return out


async def until(session: live.AsyncSession, predicate: Any,
                timeout: float = 10.0) -> list[types.LiveServerMessage]:
    """Messages up to and including the first one matching `predicate` (across turns)."""
    out: list[types.LiveServerMessage] = []
    async with asyncio.timeout(timeout):
        while True:
            async for message in session.receive():
                out.append(message)
                if predicate(message):
                    return out


def audio_of(messages: list[types.LiveServerMessage]) -> bytes:
    data = b""
    for m in messages:
        sc = m.server_content
        if sc and sc.model_turn and sc.model_turn.parts:
            for part in sc.model_turn.parts:
                if part.inline_data and part.inline_data.data:
                    assert part.inline_data.mime_type == "audio/pcm;rate=24000"
                    data += part.inline_data.data
    return data


def output_text(messages: list[types.LiveServerMessage]) -> str:
    return "".join(m.server_content.output_transcription.text or ""
                   for m in messages
                   if m.server_content and m.server_content.output_transcription)


def input_text(messages: list[types.LiveServerMessage]) -> str:
    return "".join(m.server_content.input_transcription.text or ""
                   for m in messages
                   if m.server_content and m.server_content.input_transcription)


def model_text(messages: list[types.LiveServerMessage]) -> str:
    return "".join(p.text or "" for m in messages
                   if m.server_content and m.server_content.model_turn
                   and m.server_content.model_turn.parts
                   for p in m.server_content.model_turn.parts)


def png(width: int, height: int) -> bytes:
    def chunk(tag: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + tag + body
                + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + bytes(width * 3) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def jpeg_header(width: int, height: int) -> bytes:
    """A minimal JPEG head (SOI, APP0, SOF0): enough for a size reader, not a decoder."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = (b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3)
            + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01")
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def b64std(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def control(emu: EmulatorServer, method: str, path: str,
                  body: dict[str, Any] | None = None) -> Any:
    async with httpx.AsyncClient(base_url=emu.base_url, verify=emu.client_ssl()) as http:
        response = await http.request(method, "/control" + path, json=body)
        response.raise_for_status()
        return response.json()


async def only_connection(emu: EmulatorServer) -> dict[str, Any]:
    listing = await control(emu, "GET", "/connections")
    assert len(listing["connections"]) == 1, listing
    conn: dict[str, Any] = listing["connections"][0]
    return conn

