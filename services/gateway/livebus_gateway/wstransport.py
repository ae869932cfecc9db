"""A client's WebSocket as the session's Transport (livebus.edge.transport)."""

from __future__ import annotations

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from livebus.edge import wire


class WebSocketTransport:
    __slots__ = ("ws",)

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws

    async def receive(self) -> str | bytes | None:
        try:
            frame = await self.ws.receive()
        except WebSocketDisconnect:
            return None
        if frame["type"] == "websocket.disconnect":
            return None
        data: str | bytes | None = frame.get("text")
        if data is None:
            data = frame.get("bytes") or b""
        return data

    async def send_text(self, text: str) -> None:
        await self.ws.send_text(text)

    async def send_audio(self, mime: str, pcm: bytes) -> None:
        """As Gemini sends it: serverContent.modelTurn with the PCM inline (base64)."""
        await self.ws.send_text(wire.audio_message(mime, pcm))

    def interrupted(self) -> None:
        """Nothing is buffered here: the client's player stops on the message itself."""

    async def close(self, code: int, reason: str) -> None:
        if self.ws.application_state == WebSocketState.CONNECTED:
            await self.ws.close(code, reason)
