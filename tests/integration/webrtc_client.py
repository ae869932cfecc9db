"""A WHIP client made of aiortc, run inside the test's network namespace by test_webrtc.py:
a token from the gateway, the offer to the edge, the setup on the `gemini` channel, speech on
the audio track; then a second utterance during the reply (barge-in). Prints one JSON report.

argv: gateway https URL, WHIP URL, CA file, server key, model, emulator URL, its key; with a
NATS URL and make run's pid directory after them, it then SIGKILLs the bridge that owns the
session and speaks again.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import nats
import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from livebus import subjects, tls
from livebus_dev.testing.audio import silence, speech_like

RATE = 16000
FRAME = RATE // 50


class Microphone(MediaStreamTrack):
    """Silence, or what `say()` queued, in 20 ms frames paced in real time."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.queue = bytearray()
        self._pts = 0
        self._start = time.monotonic()

    def say(self, pcm: bytes) -> None:
        self.queue += pcm

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        await asyncio.sleep(max(0.0, self._start + self._pts / RATE - time.monotonic()))
        chunk = bytes(self.queue[: FRAME * 2]).ljust(FRAME * 2, b"\0")
        del self.queue[: FRAME * 2]
        frame = AudioFrame.from_ndarray(np.frombuffer(chunk, "<i2").reshape(1, -1),
                                        format="s16", layout="mono")
        frame.sample_rate, frame.pts = RATE, self._pts
        frame.time_base = fractions.Fraction(1, RATE)
        self._pts += FRAME
        return frame


class Camera(MediaStreamTrack):
    """A moving 640x480 gradient at 15 fps."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._n = 0
        self._start = time.monotonic()

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        await asyncio.sleep(max(0.0, self._start + self._n / 15 - time.monotonic()))
        x = (np.arange(640)[None, :] + 8 * self._n) % 256
        y = np.arange(480)[:, None] % 256
        rgb = np.stack([x + 0 * y, y + 0 * x, (x + y) % 256], axis=-1).astype(np.uint8)
        frame = VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts, frame.time_base = self._n * 6000, fractions.Fraction(1, 90000)
        self._n += 1
        return frame


async def kill_owner(nats_url: str, pids: str, session_id: str) -> str:
    nc = await nats.connect(nats_url)
    try:
        kv = await nc.jetstream().key_value(subjects.KV_SESSION_LEASES)
        entry = await kv.get(session_id)
        assert entry.value is not None
        owner = entry.value.decode()
    finally:
        await nc.close()
    pid = Path(pids, f"gemini-{owner}.pid").read_text()
    os.kill(int(pid.strip()), signal.SIGKILL)
    return owner


async def main(gateway: str, whip: str, ca: str, key: str, model: str, emulator: str,
               emulator_key: str, nats_url: str = "", pids: str = "") -> dict[str, Any]:
    ctx = tls.client_context(ca)
    async with httpx.AsyncClient(verify=ctx, timeout=20) as http:
        r = await http.post(f"{gateway}/v1alpha/auth_tokens", json={"uses": 1},
                            headers={"x-goog-api-key": key})
        r.raise_for_status()
        token = r.json()["name"]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no STUN (aiortc's is Google's)
        mic = Microphone()
        pc.addTransceiver(mic, direction="sendrecv")
        pc.addTransceiver(Camera(), direction="sendonly")
        channel = pc.createDataChannel("gemini")
        messages: list[tuple[float, dict[str, Any]]] = []
        levels: list[tuple[float, int]] = []
        channel.on("message", lambda m: messages.append((time.monotonic(), json.loads(m))))

        async def meter(track: MediaStreamTrack) -> None:
            with contextlib.suppress(MediaStreamError):
                while True:
                    frame = await track.recv()
                    levels.append((time.monotonic(),
                                   int(np.abs(frame.to_ndarray()).max())))  # type: ignore[union-attr]
        pc.on("track", lambda t: asyncio.ensure_future(meter(t)))
        await pc.setLocalDescription(await pc.createOffer())
        r = await http.post(whip, content=pc.localDescription.sdp,
                            headers={"Content-Type": "application/sdp",
                                     "Authorization": f"Bearer {token}"})
        assert r.status_code == 201, (r.status_code, r.text)
        location = r.headers["Location"]
        await pc.setRemoteDescription(RTCSessionDescription(r.text, "answer"))
        await until(lambda: channel.readyState == "open")
        channel.send(json.dumps({"setup": {"model": model, "generationConfig": {
            "responseModalities": ["AUDIO"]}}}))
        await until(lambda: any("setupComplete" in m for _, m in messages))
        mic.say(speech_like(2.0) + silence(1.5))
        await until(lambda: any(level > 3000 for _, level in levels), 30)
        mic.say(speech_like(1.5) + silence(1.0))  # barge in while the reply plays
        await until(lambda: any("interrupted" in m.get("serverContent", {})
                                for _, m in messages), 30)
        interrupted_at = next(at for at, m in messages
                              if "interrupted" in m.get("serverContent", {}))
        await asyncio.sleep(1.0)
        killed = ""
        if nats_url:
            await until(lambda: any("turnComplete" in m.get("serverContent", {})
                                    for _, m in messages), 30)
            complete = next(m for _, m in messages if "setupComplete" in m)["setupComplete"]
            killed = await kill_owner(nats_url, pids, complete["sessionId"])
            at_kill = time.monotonic()
            mic.say(speech_like(2.0) + silence(1.5))
            await until(lambda: any(at > at_kill + 2.0 and level > 3000
                                    for at, level in levels), 30)
            await until(lambda: any(at > at_kill and "turnComplete" in m.get("serverContent", {})
                                    for at, m in messages), 30)
        state = pc.connectionState
        # Reply audio still playing after interrupted: the last loud frame within 1 s (the reply
        # to the barge-in comes later, after the 1.5 s utterance ends).
        loud = [at - interrupted_at for at, level in levels
                if interrupted_at < at < interrupted_at + 1.0 and level > 3000]
        last_loud = max(loud, default=0.0)
        deleted = (await http.delete(whip.rsplit("/whip", 1)[0] + location)).status_code
        await pc.close()
        r = await http.get(f"{emulator}/control/sessions",
                           headers={"x-goog-api-key": emulator_key})
        seen = r.json()
    return {
        "emulator": [{k: v for k, v in c.items() if k != "frames"} for c in seen["sessions"]],
        "setup_complete": True,
        "reply_peak": max(level for _, level in levels),
        "loud_after_interrupted_s": last_loud,
        "loud_before_interrupted": any(interrupted_at - 0.5 < at < interrupted_at and level > 3000
                                       for at, level in levels),
        "kinds": sorted({k for _, m in messages for k in m}),
        "delete_status": deleted,
        "killed": killed,
        "frame_sizes": [[f["width"], f["height"]] for c in seen["sessions"]
                        for f in c["frames"]],
        "state_before_delete": state,
    }


async def until(check: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("timed out")
        await asyncio.sleep(0.02)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(*sys.argv[1:10]))), flush=True)
