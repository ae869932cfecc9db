"""The seam between a session and its client's connection: what EdgeSession drives.

An edge service (the WebSocket gateway, a WebRTC edge) adapts its connection to this and hands
it to `EdgeSession`; everything else (credential, setup, limits, NATS, moves, resumption) is
the library's. Messages are Gemini Live wire JSON both ways, except reply audio, which the
transport frames its own way.

- `receive()`: the client's next message (text or bytes, as sent), or None once the client has
  left. The session checks its size and parses it. A transport that decodes media itself (a
  WebRTC track) may instead return it as a `wire.Audio` (PCM16) or `wire.Video` (an image
  within `max_frame_bytes`), with no JSON and base64 in between; it is charged, timed and
  published as the same realtimeInput message would be.
- `send_text(text)`: one server message (JSON) to the client, in order.
- `send_audio(mime, pcm)`: one reply audio chunk (PCM16, `mime` gives the rate). A WebSocket
  sends it as the serverContent JSON Gemini sends; WebRTC plays it on its audio track.
- `interrupted()`: the upstream's `serverContent.interrupted` was parsed; called before that
  message is sent. A transport that buffers reply audio (WebRTC) drops what it holds.
- `close(code, reason)`: end the connection with a close code (livebus.closecodes) and a reason
  the client may see (at most 123 bytes, as a WebSocket close frame allows). Called once at the
  end, also when the client already left (the session ignores what it raises).

The session calls `send_text` and `send_audio` one at a time (under its own lock), never while
another is in progress.
"""

from __future__ import annotations

from typing import Protocol

from .wire import Audio, Video


class Transport(Protocol):
    async def receive(self) -> str | bytes | Audio | Video | None: ...
    async def send_text(self, text: str) -> None: ...
    async def send_audio(self, mime: str, pcm: bytes) -> None: ...
    def interrupted(self) -> None: ...
    async def close(self, code: int, reason: str) -> None: ...
