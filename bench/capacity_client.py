"""The capacity harness's client: N sessions replaying pre-encoded Live messages in real time.

    python bench/capacity_client.py --port P --key K --sessions N --seconds S [--warmup W]

Each session sends a 20 ms PCM chunk every 20 ms, a 640x480 JPEG every second and a text turn
every TURN_EVERY_S; it reads the reply audio and turnComplete. Sessions tick in TICK_GROUPS
groups spread over the 20 ms (one timer per group, not per session). Every chunk is stamped
(capacity_wire), so one-way latency is measured per chunk in both directions.

Talks to the bench on stdin/stdout, one JSON line per event: `idle` once every session is open
(then it waits for a line on stdin), `window` when the measured window starts, `done` with
the results after the window and a drain (then it closes every session and exits).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import deque
from typing import Any

import uvloop
from capacity_stats import cpu_seconds, quantiles
from capacity_wire import (
    PATH,
    STAMP_CHARS,
    read_stamp,
    setup_message,
    stamp,
    text_turn,
    uplink_audio,
    video_message,
)
from capacity_ws import Conn, header, upgrade_request

TICK_S = 0.02
TICK_GROUPS = 10
TURN_EVERY_S = 2.0
VIDEO_EVERY_S = 1.0
SEND_VIDEO = True  # --no-video: audio and turns only
AUDIO = uplink_audio()
AUDIO_HEADS = [header(c.length, masked=True) for c in AUDIO]
VIDEO = video_message()


class Results:
    def __init__(self) -> None:
        self.window = (float("inf"), float("inf"))
        self.audio_sent = 0
        self.video_sent = 0
        self.turns_sent = 0
        self.reply_chunks = 0
        self.turns_done = 0
        self.down_gaps = 0
        self.closed_early = 0
        self.down_lat: list[float] = []
        self.first_lat: list[float] = []  # the first chunk of each reply
        self.ttfab: list[float] = []
        self.tick_lag: list[float] = []
        self.backlog = 0

    def in_window(self, t: float) -> bool:
        return self.window[0] <= t <= self.window[1]


R = Results()


class Session:
    def __init__(self, i: int, conn: Conn) -> None:
        self.conn = conn
        self.seq = 0
        self.last_down = -1
        self.video_phase = (i * 7) % round(VIDEO_EVERY_S / TICK_S)
        self.turn_phase = (i * 13) % round(TURN_EVERY_S / TICK_S)
        self.pending: deque[float] = deque()
        self.ready = asyncio.get_running_loop().create_future()
        conn.on_message = self.message

    def message(self, payload: bytes) -> None:
        now = time.monotonic()
        msg = json.loads(payload)
        if not self.ready.done():
            if "setupComplete" in msg:
                self.ready.set_result(None)
            return
        sc = msg.get("serverContent")
        if sc is None:
            return
        turn = sc.get("modelTurn")
        if turn is not None:
            for part in turn.get("parts", ()):
                blob = part.get("inlineData")
                if blob is not None:
                    self.audio(blob["data"], now)
        if sc.get("turnComplete"):
            R.turns_done += 1

    def audio(self, data: str, now: float) -> None:
        t, seq, index = read_stamp(data[:STAMP_CHARS])
        R.reply_chunks += 1
        if self.last_down >= 0:
            R.down_gaps += (seq - self.last_down - 1) & 0xFFFF
        self.last_down = seq
        if R.in_window(t):
            R.down_lat.append(now - t)
        if index == 0 and R.in_window(t):
            R.first_lat.append(now - t)
        if index == 0 and self.pending:
            asked = self.pending.popleft()
            if R.in_window(asked):
                R.ttfab.append(now - asked)

    def tick(self, k: int) -> None:
        chunk = AUDIO[self.seq % len(AUDIO)]
        now = time.monotonic()
        self.conn.send_parts(AUDIO_HEADS[self.seq % len(AUDIO)],
                             [chunk.prefix, stamp(now, self.seq), chunk.tail])
        self.seq += 1
        R.audio_sent += 1
        if SEND_VIDEO and (k + self.video_phase) % round(VIDEO_EVERY_S / TICK_S) == 0:
            self.conn.send(VIDEO)
            R.video_sent += 1
        if (k + self.turn_phase) % round(TURN_EVERY_S / TICK_S) == 0:
            self.conn.send(text_turn(now))
            self.pending.append(now)
            R.turns_sent += 1
        R.backlog = max(R.backlog, self.conn.backlog())


async def open_session(i: int, a: argparse.Namespace, gate: asyncio.Semaphore) -> Session:
    loop = asyncio.get_running_loop()
    request = upgrade_request(a.host, a.port, PATH, {"x-goog-api-key": a.key})
    async with gate:
        _, conn = await loop.create_connection(lambda: Conn(True, request), a.host, a.port)
        s = Session(i, conn)
        await asyncio.wait_for(conn.opened, 30)
        conn.send(setup_message())
        await asyncio.wait_for(s.ready, 30)
    return s


async def group(sessions: list[Session], offset: float, t0: float, end: float) -> None:
    k = 0
    while True:
        target = t0 + offset + k * TICK_S
        if target > end:
            return
        delay = target - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        R.tick_lag.append(time.monotonic() - target)
        for s in sessions:
            if s.conn.open:
                s.tick(k)
        k += 1


def emit(event: str, **kw: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, **kw}) + "\n")
    sys.stdout.flush()


async def run(a: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(a.open_concurrency)
    opened = await asyncio.gather(*(open_session(i, a, gate) for i in range(a.sessions)),
                                  return_exceptions=True)
    sessions = [s for s in opened if isinstance(s, Session)]
    errors = sorted({f"{type(e).__name__}: {e}" for e in opened if isinstance(e, BaseException)})
    emit("idle", open=len(sessions), failed=len(opened) - len(sessions), errors=errors[:3])
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await reader.readline()
    t0 = time.monotonic() + 0.05
    R.window = (t0 + a.warmup, t0 + a.warmup + a.seconds)
    groups = [sessions[g::TICK_GROUPS] for g in range(TICK_GROUPS)]
    tickers = [asyncio.create_task(group(gs, g * TICK_S / TICK_GROUPS, t0, R.window[1]))
               for g, gs in enumerate(groups)]
    await asyncio.sleep(max(0.0, R.window[0] - time.monotonic()))
    cpu0 = cpu_seconds("self")
    emit("window", start=R.window[0], end=R.window[1])
    await asyncio.gather(*tickers)
    cpu = cpu_seconds("self") - cpu0
    emit("window_end")
    await drain(sessions)
    R.closed_early = sum(not s.conn.open for s in sessions)
    emit("done", **results(len(sessions), cpu / a.seconds))
    for s in sessions:
        s.conn.close()
    await asyncio.sleep(0.2)


async def drain(sessions: list[Session], limit_s: float = 5.0) -> None:
    """Wait for the replies to the last turns (or limit_s)."""
    until = time.monotonic() + limit_s
    await asyncio.sleep(0.3)
    while time.monotonic() < until and (R.turns_done < R.turns_sent
                                        and any(s.conn.open for s in sessions)):
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)


def results(n: int, cpu_share: float) -> dict[str, Any]:
    return {"sessions": n, "window": list(R.window), "audio_sent": R.audio_sent,
            "video_sent": R.video_sent, "turns_sent": R.turns_sent,
            "turns_done": R.turns_done, "reply_chunks": R.reply_chunks,
            "down_gaps": R.down_gaps, "closed_early": R.closed_early,
            "down_latency": quantiles(R.down_lat),
            "first_chunk_latency": quantiles(R.first_lat), "ttfab": quantiles(R.ttfab),
            "tick_lag": quantiles(R.tick_lag), "backlog": R.backlog, "cpu": cpu_share}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", default="bench")
    ap.add_argument("--sessions", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--open-concurrency", type=int, default=16)
    ap.add_argument("--no-video", action="store_true")
    args = ap.parse_args()
    SEND_VIDEO = not args.no_video
    uvloop.run(run(args))
