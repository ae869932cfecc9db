"""The WebRTC bench's client: N aiortc peer connections replaying pre-encoded Opus (and VP8).

    python bench/webrtc_client.py --port P --sessions N --media FILE [--video [--capped]]

Prints {"connected": N} once every session's peer connection is connected, then on stdin
`stats` prints what was sent as one JSON line; EOF closes every session and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from webrtc_media import Media, PacketTrack, audio_track, video_track

CONNECT_TIMEOUT_S = 30.0


class Session:
    def __init__(self, media: Media, video: bool, capped: bool) -> None:
        # No ICE servers: aiortc's default is a public STUN server.
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.tracks: list[PacketTrack] = [audio_track(media)]
        if video:
            self.tracks.append(video_track(media, capped))
        for t in self.tracks:
            self.pc.addTrack(t)
        self.connected = asyncio.Event()
        self.writer: asyncio.StreamWriter | None = None

        @self.pc.on("connectionstatechange")
        def changed() -> None:
            if self.pc.connectionState == "connected":
                self.connected.set()

    async def open(self, port: int) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        offer = {"sdp": self.pc.localDescription.sdp, "type": self.pc.localDescription.type}
        self.writer.write(json.dumps(offer).encode() + b"\n")
        answer = json.loads(await reader.readline())
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        await asyncio.wait_for(self.connected.wait(), CONNECT_TIMEOUT_S)

    async def close(self) -> None:
        await self.pc.close()
        if self.writer is not None:
            self.writer.close()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--sessions", type=int, default=1)
    ap.add_argument("--media", type=Path, required=True)
    ap.add_argument("--video", action="store_true")
    ap.add_argument("--capped", action="store_true", help="video as the livebus page sends it")
    args = ap.parse_args()
    media = Media.load(args.media)
    sessions = [Session(media, args.video, args.capped) for _ in range(args.sessions)]
    try:
        for s in sessions:   # one at a time: a handshake is the costly part of a start
            await s.open(args.port)
        print(json.dumps({"connected": len(sessions)}), flush=True)
        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            if line.strip() == "stats":
                sent = {k: sum(t.sent for s in sessions for t in s.tracks if t.kind == k)
                        for k in ("audio", "video")}
                print(json.dumps(sent), flush=True)
    finally:
        for s in sessions:
            await s.close()


if __name__ == "__main__":
    asyncio.run(main())
