"""Tokens per minute of one scripted conversation: the FastRTC demo's policy against livebus's.

One script (speech with natural pauses, a camera mostly still with a few movements, a few typed
lines), played in real time twice against the emulator in one run:
- demo: the FastRTC Gemini demo's policy, straight at the emulator: all audio streamed, one
  full-resolution frame a second, the upstream's voice activity detection;
- livebus: the same client input through the stack (gateway, bridge, frame-sampler, NATS) with
  local turn detection (no silence upstream), speech-aware video and low media resolution.

    .venv/bin/python bench/cost.py [--quick]     (--quick: a 1-minute script)

Tokens are the sums of every usageMetadata the session received (prompt and response details by
modality). TTFAB: from the last speech chunk sent to the reply's first audio. Missed: a spoken or
typed turn without reply audio; cut: a reply that ended `interrupted` (the script never talks
over a reply).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from google import genai
from google.genai import types

from livebus_dev.testing.audio import chunks, silence, speech_like
from livebus_dev.testing.stack import MODEL, emulator_client, gateway_client, running_stack

CHUNK_S = 0.02
SPEECH = {s: chunks(speech_like(s)) for s in (0.8, 1.2, 1.6, 2.0, 2.4)}
QUIET = chunks(silence(CHUNK_S))[0]
# A sliding window (the bridge's default one) for both: without it an audio+video session ends
# after 2 minutes.
CONFIG = types.LiveConnectConfig(
    response_modalities=[types.Modality.AUDIO],
    context_window_compression=types.ContextWindowCompressionConfig(
        trigger_tokens=25600, sliding_window=types.SlidingWindow(target_tokens=12800)))


@dataclass(frozen=True)
class Step:
    at: float           # seconds into the script
    kind: str           # speak | type
    seconds: float = 0.0
    text: str = ""


def script(minutes: float) -> tuple[list[Step], list[tuple[float, float]]]:
    """Turns every ~9 s (speech of 0.8-2.4 s, a typed line every fifth), and camera movements
    (start, end) of 3 s every ~50 s."""
    steps: list[Step] = []
    lengths = list(SPEECH)
    t, i = 2.0, 0
    while t < minutes * 60 - 8:
        if i % 5 == 4:
            steps.append(Step(t, "type", text=f"typed line {i}"))
        else:
            steps.append(Step(t, "speak", seconds=lengths[i % len(lengths)]))
        t += 8.0 + (i % 3)  # the reply (~3 s) and a natural pause
        i += 1
    moves = [(m + 20.0, m + 23.0) for m in np.arange(0, minutes * 60 - 25, 50.0)]
    return steps, moves


def camera() -> np.ndarray:
    """A full-resolution (1280x720) scene."""
    rng = np.random.default_rng(3)
    return cv2.resize(rng.integers(0, 255, (90, 160, 3), dtype=np.uint8), (1280, 720),
                      interpolation=cv2.INTER_CUBIC)


def frame(scene: np.ndarray, shift: int) -> bytes:
    return bytes(cv2.imencode(".jpg", np.roll(scene, shift, axis=1),
                              [cv2.IMWRITE_JPEG_QUALITY, 85])[1])


@dataclass
class Result:
    tokens: Counter[str] = field(default_factory=Counter)
    ttfab: list[float] = field(default_factory=list)
    turns: int = 0
    answered: int = 0
    cut: int = 0
    minutes: float = 0.0


async def play(client: genai.Client, steps: list[Step], moves: list[tuple[float, float]],
               minutes: float) -> Result:
    res = Result()
    scene = camera()
    still = frame(scene, 0)
    async with client.aio.live.connect(model=MODEL, config=CONFIG) as s:
        t0 = time.monotonic()
        end = t0 + minutes * 60
        state: dict[str, float | None] = {"ended": None, "first": None}

        async def read() -> None:
            while True:  # one receive() ends at each turnComplete
                async for m in s.receive():
                    on_message(m)

        def on_message(m: types.LiveServerMessage) -> None:
            sc = m.server_content
            if m.usage_metadata is not None:
                u = m.usage_metadata
                for d in [*(u.prompt_tokens_details or []),
                          *(u.response_tokens_details or [])]:
                    res.tokens[str(getattr(d.modality, "value", d.modality))] += \
                        d.token_count or 0
            if sc is None:
                return
            audio = sc.model_turn and any(p.inline_data and p.inline_data.data
                                          for p in sc.model_turn.parts or [])
            if audio and state["first"] is None:
                first = state["first"] = time.monotonic()
                res.answered += 1
                ended = state["ended"]
                if ended is not None:
                    res.ttfab.append(first - ended)
            if sc.interrupted:
                res.cut += 1
            if sc.turn_complete:
                state["first"] = state["ended"] = None

        async def cam() -> None:
            k = 0
            while time.monotonic() < end:
                now = time.monotonic() - t0
                moving = any(a <= now < b for a, b in moves)
                data = frame(scene, 40 * k) if moving else still
                await s.send_realtime_input(video=types.Blob(data=data, mime_type="image/jpeg"))
                k += 1
                await asyncio.sleep(1.0)

        async def mic() -> None:
            queue = list(steps)
            n = 0
            while time.monotonic() < end:
                now = time.monotonic() - t0
                pcm = QUIET
                if queue and now >= queue[0].at:
                    step = queue.pop(0)
                    res.turns += 1
                    if step.kind == "type":
                        state["ended"] = time.monotonic()
                        await s.send_realtime_input(text=step.text)
                    else:
                        for c in SPEECH[step.seconds]:
                            await s.send_realtime_input(
                                audio=types.Blob(data=c, mime_type="audio/pcm;rate=16000"))
                            n += 1
                            await asyncio.sleep(max(0.0, t0 + n * CHUNK_S - time.monotonic()))
                        state["ended"] = time.monotonic()
                        continue
                await s.send_realtime_input(
                    audio=types.Blob(data=pcm, mime_type="audio/pcm;rate=16000"))
                n += 1
                await asyncio.sleep(max(0.0, t0 + n * CHUNK_S - time.monotonic()))

        reader = asyncio.create_task(read())
        await asyncio.gather(mic(), cam())
        await asyncio.sleep(4.0)  # the last reply
        reader.cancel()
        res.minutes = (time.monotonic() - t0) / 60
    return res


def q(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p * (len(values) - 1)))]


def report(name: str, r: Result) -> float:
    per_min = {k: v / r.minutes for k, v in sorted(r.tokens.items())}
    total = sum(per_min.values())
    mods = ", ".join(f"{k.lower()} {v:7.0f}" for k, v in per_min.items())
    print(f"{name:8} tokens/min {total:8.0f} ({mods})  TTFAB p50 {q(r.ttfab, .5) * 1000:6.0f} ms"
          f" p95 {q(r.ttfab, .95) * 1000:6.0f} ms  turns {r.turns} missed "
          f"{r.turns - r.answered} cut {r.cut}")
    return total


async def main(args: argparse.Namespace) -> int:
    minutes = 1.0 if args.quick else 5.0
    steps, moves = script(minutes)
    env = {"LIVEBUS_EMULATOR_SPEECH_SYNTHESIS": "false"}  # livebus as configured by default
    with tempfile.TemporaryDirectory() as tmp, running_stack(
            Path(tmp), emulator_pace=1.0, extra_env=env) as stack:
        demo, live = await asyncio.gather(
            play(emulator_client(stack), steps, moves, minutes),
            play(gateway_client(stack), steps, moves, minutes))
    d = report("demo", demo)
    lv = report("livebus", live)
    ratio = lv / d if d else float("nan")
    print(f"TTFAB p50 livebus - demo: {(q(live.ttfab, .5) - q(demo.ttfab, .5)) * 1000:+.0f} ms")
    print(f"cost: livebus {lv:.0f} tokens/min, demo {d:.0f} tokens/min, ratio {ratio:.2f}")
    return 0 if demo.answered and live.answered else 1


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a 1-minute script")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    sys.exit(asyncio.run(main(ap.parse_args())))
