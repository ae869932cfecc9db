"""livebus against a direct connection, in one run: the same google-genai client, the same emulator.

Each session speaks in real time (20 ms chunks: 1 s of speech, 0.6 s of silence, then waits for
the reply), sends a 640x480 JPEG every second, and repeats until the phase ends. Phases: direct
and through livebus, at 1 and at N concurrent sessions.

    .venv/bin/python bench/pipeline.py [--sessions 1,100] [--seconds 20] [--bridges 2]

(a single session runs for at least 60 s, so that its percentiles rest on ~10 turns)

Printed per phase: client-side TTFAB (from sending the last speech chunk to the first reply audio;
the emulator's end-of-speech wait is in both), and for livebus the pipeline's own numbers from
its histograms: the gateway's TTFAB share (TTFAB minus the bridge's upstream part) and each audio
hop; CPU per session of every process; audio sent vs audio the emulator received, reply audio
sent vs received (lost chunks).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from google import genai
from google.genai import types

from livebus_dev.devstack import Stack
from livebus_dev.testing.audio import chunks, silence, speech_like
from livebus_dev.testing.emulator import control, sessions
from livebus_dev.testing.observe import Samples, histogram, merged, scrape
from livebus_dev.testing.stack import MODEL, emulator_client, gateway_client, running_stack

SILENCE_MS = 300
CONFIG = types.LiveConnectConfig(
    response_modalities=[types.Modality.AUDIO],
    realtime_input_config=types.RealtimeInputConfig(
        automatic_activity_detection=types.AutomaticActivityDetection(
            silence_duration_ms=SILENCE_MS)))
SPEECH = chunks(speech_like(1.0))
QUIET = chunks(silence(0.6))
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    ttfab: list[float] = field(default_factory=list)
    audio_sent_s: float = 0.0
    reply_bytes: int = 0
    frames: int = 0
    errors: list[str] = field(default_factory=list)


def jpeg() -> bytes:
    rng = np.random.default_rng(7)
    img = cv2.resize(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), (640, 480))
    return bytes(cv2.imencode(".jpg", img)[1])


async def one_session(client: genai.Client, ready: asyncio.Barrier, go: asyncio.Event,
                      clock: list[float], res: Result, frame: bytes) -> None:
    async with client.aio.live.connect(model=MODEL, config=CONFIG) as s:
        await ready.wait()  # measure the steady state: every session is open
        await go.wait()
        until = clock[0]

        async def camera() -> None:
            while True:
                await s.send_realtime_input(video=types.Blob(data=frame, mime_type="image/jpeg"))
                res.frames += 1
                await asyncio.sleep(1.0)

        cam = asyncio.create_task(camera())
        try:
            while time.monotonic() < until:
                start = time.monotonic()
                ended = 0.0
                first: float | None = None

                async def read() -> None:
                    nonlocal first
                    async for m in s.receive():
                        sc = m.server_content
                        if sc and sc.model_turn:
                            for p in sc.model_turn.parts or []:
                                if p.inline_data and p.inline_data.data:
                                    first = first or time.monotonic()
                                    res.reply_bytes += len(p.inline_data.data)

                reader = asyncio.create_task(read())
                for i, c in enumerate(SPEECH + QUIET):
                    await asyncio.sleep(max(0.0, start + i * 0.02 - time.monotonic()))
                    await s.send_realtime_input(
                        audio=types.Blob(data=c, mime_type="audio/pcm;rate=16000"))
                    res.audio_sent_s += len(c) / 32000
                    if i == len(SPEECH) - 1:
                        ended = time.monotonic()
                await asyncio.wait_for(reader, 30)
                if first is not None:
                    res.ttfab.append(first - ended)
        finally:
            cam.cancel()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def q(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p * (len(values) - 1)))]


HOPS = {"uplink gateway->bridge": ("livebus_bridge_hop_seconds", "gateway_bridge"),
        "uplink bridge->upstream*": ("livebus_bridge_hop_seconds", "bridge_upstream"),
        "downlink bridge->gateway": ("livebus_gateway_hop_seconds", "bridge_gateway"),
        "downlink gateway->client": ("livebus_gateway_hop_seconds", "gateway_client")}


async def phase(stack: Stack, name: str, client: genai.Client, n: int,
                seconds: float) -> dict[str, Any]:
    async with control(stack) as c:
        (await c.post("/control/reset")).raise_for_status()
    res = Result()
    frame = jpeg()
    ready = asyncio.Barrier(n + 1)
    clock = [0.0]
    go = asyncio.Event()

    async def staggered(i: int) -> None:
        await asyncio.sleep(i * 0.02)  # spread the session starts
        try:
            await one_session(client, ready, go, clock, res, frame)
        except Exception as e:
            res.errors.append(f"{type(e).__name__}: {e}")
            await ready.abort()

    tasks = [asyncio.create_task(staggered(i)) for i in range(n)]
    await ready.wait()  # every session open: the measurement starts now
    before: Samples = merged(await scrape(stack, ["gateway", "gemini-bridge"]))
    cpu0 = {p.name: cpu_seconds(p.pid) for p in stack.procs}
    me0 = sum(os.times()[:2])
    t0 = time.monotonic()
    clock[0] = t0 + seconds
    go.set()
    await asyncio.gather(*tasks)
    wall = time.monotonic() - t0
    cpu = {p.name: (cpu_seconds(p.pid) - cpu0[p.name]) / wall / n * 100 for p in stack.procs}
    cpu["client (this process)"] = (sum(os.times()[:2]) - me0) / wall / n * 100
    await asyncio.sleep(1.0)  # let the emulator record the last closes
    after = merged(await scrape(stack, ["gateway", "gemini-bridge"]))
    recs = await sessions(stack)
    received = sum(r.get("audio_seconds", 0.0) for r in recs)
    replied = sum(sum(x["audio_s"] for x in r.get("replies", [])) for r in recs)
    out: dict[str, Any] = {
        "name": name, "n": n, "turns": len(res.ttfab), "errors": res.errors[:3],
        "ttfab_p50": q(res.ttfab, 0.5), "ttfab_p99": q(res.ttfab, 0.99),
        "audio_sent_s": res.audio_sent_s, "audio_received_s": received,
        "reply_sent_s": replied, "reply_received_s": res.reply_bytes / 48000,
        "frames": res.frames, "cpu": cpu,
    }
    if name == "livebus":
        pipe = histogram(after, "livebus_gateway_ttfab_pipeline_seconds", before)
        out["pipeline"] = (pipe.quantile(0.5), pipe.quantile(0.99), pipe.count)
        for key, metric in (("gateway_ttfab", "livebus_gateway_ttfab_seconds"),
                            ("upstream_ttfab", "livebus_bridge_ttfab_upstream_seconds")):
            out[key] = histogram(after, metric, before).mean  # exact; its buckets are coarse
        out["hops"] = {}
        for label, (metric, hop) in HOPS.items():
            h = histogram(after, metric, before, hop=hop)
            out["hops"][label] = (h.quantile(0.5), h.quantile(0.99), h.count)
    return out


def ms(x: float) -> str:
    return f"{x * 1000:8.2f}"


def report(direct: dict[str, Any], live: dict[str, Any]) -> None:
    n = live["n"]
    print(f"\n=== {n} concurrent session(s) ===")
    for r in (direct, live):
        lost_up = r["audio_sent_s"] - r["audio_received_s"]
        lost_down = r["reply_sent_s"] - r["reply_received_s"]
        print(f"{r['name']:8} turns {r['turns']:4}  TTFAB p50 {ms(r['ttfab_p50'])} ms  "
              f"p99 {ms(r['ttfab_p99'])} ms   audio up lost {lost_up:+.3f} s of "
              f"{r['audio_sent_s']:.1f} s, reply audio lost {lost_down:+.3f} s of "
              f"{r['reply_sent_s']:.1f} s, frames {r['frames']}"
              + (f"  errors {r['errors']}" if r["errors"] else ""))
    d50 = live["ttfab_p50"] - direct["ttfab_p50"]
    d99 = live["ttfab_p99"] - direct["ttfab_p99"]
    print(f"added (client view)  TTFAB p50 {ms(d50)} ms  p99 {ms(d99)} ms  "
          f"(ratio p50 {live['ttfab_p50'] / direct['ttfab_p50']:.3f})")
    p50, p99, cnt = live["pipeline"]
    print(f"added (gateway histogram, TTFAB - upstream part, {cnt:.0f} turns)  "
          f"p50 {ms(p50)} ms  p99 {ms(p99)} ms")
    print(f"  TTFAB at the gateway      mean {ms(live['gateway_ttfab'])} ms, of which upstream "
          f"(at the bridge) {ms(live['upstream_ttfab'])} ms; both start at the VAD's last "
          "voiced chunk")
    for label, (a, b, c) in live["hops"].items():
        print(f"  {label:26} p50 {ms(a)} ms  p99 {ms(b)} ms  ({c:.0f} chunks)")
    print("  (* voiced chunks only; measurement starts once every session is open)")
    print("CPU per session (% of one core):")
    for r in (direct, live):
        busy = {k: v for k, v in r["cpu"].items() if v >= 0.005}
        print(f"  {r['name']:8} " + ", ".join(f"{k} {v:.2f}" for k, v in busy.items()))


async def main(args: argparse.Namespace) -> int:
    """1 when a phase had errors or no complete turn (the numbers would mean nothing)."""
    failed = 0
    # Every benchmark session uses the one server key: lift its per-credential session limit.
    env = {"LIVEBUS_EMULATOR_SPEECH_SYNTHESIS": "false",
           "LIVEBUS_GATEWAY_MAX_SESSIONS_PER_USER": str(max(args.sessions) + 10),
           # The direct baseline streams every chunk: so does livebus here, like for like.
           "LIVEBUS_BRIDGE_TURN_DETECTION": "server"}
    with tempfile.TemporaryDirectory() as tmp, running_stack(
            Path(tmp), bridges=args.bridges, emulator_pace=1.0, extra_env=env) as stack:
        via = {"direct": emulator_client(stack), "livebus": gateway_client(stack)}
        for n in args.sessions:
            results = {}
            for name in ("direct", "livebus"):
                # One session completes a turn every ~6 s: give it enough turns to count.
                seconds = max(args.seconds, 60.0) if n == 1 else args.seconds
                results[name] = await phase(stack, name, via[name], n, seconds)
            report(results["direct"], results["livebus"])
            failed |= any(r["errors"] or not r["turns"] for r in results.values())
    return failed


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", default="1,100",
                    type=lambda s: [int(x) for x in s.split(",")])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--bridges", type=int, default=2)
    a = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; {a.seconds:.0f} s per phase")
    sys.exit(asyncio.run(main(a)))
