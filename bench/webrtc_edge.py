"""The WebRTC bench's receiving side: aiortc peer connections fed into one media pipeline.

    python bench/webrtc_edge.py --pipeline livebus|fastrtc|decode

Signalling is one JSON line each way over TCP on 127.0.0.1 (inside the bench's namespace): the
client's offer, then the answer; the session ends when that connection closes. On stdin,
`stats` prints what the pipeline handled so far as one JSON line; EOF stops the process.

Pipelines (what each session does with every decoded frame aiortc hands it):
- livebus: the edge's own path: audio to 16 kHz mono PCM; video frames kept as they come and
  converted (within 512x512) and JPEG-encoded only when the sampling policy sends one.
- fastrtc: what a FastRTC-style handler gets: audio resampled and turned into an array, and
  every video frame converted with `frame.to_ndarray(format="bgr24")`.
- decode: frames taken and dropped: aiortc's decode alone, the floor of any pipeline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections import Counter
from collections.abc import Callable

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from webrtc_pipelines import PIPELINES, Sink

from livebus_webrtc.uplink import decode_inline

stats: Counter[str] = Counter()
sessions: set[RTCPeerConnection] = set()


async def consume(track: MediaStreamTrack, handle: Callable[[object], None]) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            handle(await track.recv())


async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                  make_sink: Callable[[Counter[str]], Sink]) -> None:
    # No ICE servers: aiortc's default is a public STUN server, and nothing leaves the namespace.
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    sessions.add(pc)
    sink = make_sink(stats)
    tasks: list[asyncio.Task[None]] = []

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if track.kind == "audio" and sink.inline_audio and not decode_inline(pc, track):
            raise RuntimeError("the edge's inline Opus decoding did not install")
        handle = sink.audio if track.kind == "audio" else sink.video
        tasks.append(asyncio.ensure_future(consume(track, handle)))

    try:
        offer = json.loads(await reader.readline())
        await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], offer["type"]))
        await pc.setLocalDescription(await pc.createAnswer())
        answer = {"sdp": pc.localDescription.sdp, "type": pc.localDescription.type}
        writer.write(json.dumps(answer).encode() + b"\n")
        await writer.drain()
        stats["sessions"] += 1
        await reader.read()   # until the client hangs up
    finally:
        for t in tasks:
            t.cancel()
        await pc.close()
        sessions.discard(pc)
        writer.close()


async def control() -> None:
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        if line.strip() == "stats":
            print(json.dumps(dict(stats)), flush=True)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pipeline", choices=sorted(PIPELINES), required=True)
    args = ap.parse_args()
    make_sink = PIPELINES[args.pipeline]
    server = await asyncio.start_server(lambda r, w: session(r, w, make_sink), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"ready": port}), flush=True)
    async with server:
        await control()
    for pc in list(sessions):
        await pc.close()


if __name__ == "__main__":
    asyncio.run(main())
