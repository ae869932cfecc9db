"""The capacity harness's upstream: just enough of the Live protocol, written for throughput.

    python bench/capacity_upstream.py --tls-port P --plain-port Q --cert C --key K

setup -> setupComplete; realtimeInput audio is counted and its stamp read (one-way latency,
sequence gaps); video counted; each clientContent with turnComplete is answered with paced
24 kHz audio (REPLY_S in 40 ms chunks, each stamped) and turnComplete. Both spellings of field
names are read (the SDK writes camelCase, livebus's bridge snake_case for audio). TLS port for
the systems under test (google-genai always uses wss), plain port for the direct baseline.

Control on stdin, one JSON line back on stdout per command:
  `stats START END`  uplink latencies of chunks sent in [START, END] (monotonic) and counters
  `reset`            clear everything
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import time
from array import array
from collections import deque
from pathlib import Path
from typing import Any

import uvloop
from capacity_stats import cpu_seconds, quantiles
from capacity_wire import (
    DOWN_CHUNK_S,
    SETUP_COMPLETE,
    STAMP_CHARS,
    TURN_COMPLETE,
    read_stamp,
    reply_audio,
    stamp,
    turn_sent_at,
)
from capacity_ws import Conn, header

REPLY_S = 1.0
REPLY_DELAY_S = [0.0]  # --reply-delay: the model's "thinking" before its first audio
VIDEO_BYTES = 65536  # larger messages are video frames: counted, never parsed
REPLY = reply_audio()
REPLY_HEAD = header(REPLY.length)


class Totals:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.sent_t = array("d")
        self.lat = array("d")
        self.turn_t = array("d")
        self.turn_lat = array("d")
        self.audio = 0
        self.gaps = 0
        self.video = 0
        self.turns = 0
        self.reply_chunks = 0
        self.sessions = 0
        self.bad = 0


TOTALS = Totals()


def pick(obj: dict[str, Any], camel: str, snake: str) -> Any:
    return obj.get(camel, obj.get(snake))


class Session:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.loop = asyncio.get_running_loop()
        self.setup = False
        self.last_seq = -1
        self.down_seq = 0
        self.pending: deque[float] = deque()
        self.replying = False
        self.chunks = round(REPLY_S / DOWN_CHUNK_S)
        conn.on_message = self.message

    def message(self, payload: bytes) -> None:
        if len(payload) >= VIDEO_BYTES:
            TOTALS.video += 1
            return
        try:
            msg = json.loads(payload)
        except ValueError:
            TOTALS.bad += 1
            return
        if not self.setup:
            if "setup" in msg:
                self.setup = True
                TOTALS.sessions += 1
                self.conn.send(SETUP_COMPLETE)
            return
        ri = pick(msg, "realtimeInput", "realtime_input")
        if ri is not None:
            audio = ri.get("audio")
            if audio is not None:
                self.audio(audio["data"])
            elif "video" in ri:
                TOTALS.video += 1
            return
        cc = pick(msg, "clientContent", "client_content")
        if cc is not None and pick(cc, "turnComplete", "turn_complete"):
            TOTALS.turns += 1
            now = time.monotonic()
            sent = turn_sent_at(cc)
            if sent is not None:
                TOTALS.turn_t.append(sent)
                TOTALS.turn_lat.append(now - sent)
            self.pending.append(now)
            if not self.replying:
                self.start_reply()

    def audio(self, data: str) -> None:
        t, seq, _ = read_stamp(data[:STAMP_CHARS])
        now = time.monotonic()
        TOTALS.audio += 1
        TOTALS.sent_t.append(t)
        TOTALS.lat.append(now - t)
        if self.last_seq >= 0:
            TOTALS.gaps += (seq - self.last_seq - 1) & 0xFFFF
        self.last_seq = seq

    def start_reply(self) -> None:
        self.pending.popleft()
        self.replying = True
        if REPLY_DELAY_S[0] > 0:
            self.loop.call_later(REPLY_DELAY_S[0], self.chunk, 0, time.monotonic()
                                 + REPLY_DELAY_S[0])
        else:
            self.chunk(0, time.monotonic())

    def chunk(self, k: int, t0: float) -> None:
        if not self.conn.open:
            return
        self.conn.send_parts(REPLY_HEAD, [REPLY.prefix,
                                          stamp(time.monotonic(), self.down_seq, k), REPLY.tail])
        self.down_seq += 1
        TOTALS.reply_chunks += 1
        if k + 1 < self.chunks:
            self.loop.call_at(t0 + (k + 1) * DOWN_CHUNK_S, self.chunk, k + 1, t0)
            return
        self.conn.send(TURN_COMPLETE)
        self.replying = False
        if self.pending:
            self.start_reply()


def server_conn() -> Conn:
    conn = Conn(client=False)
    Session(conn)
    return conn


def stats(start: float, end: float) -> dict[str, Any]:
    lat = [x for t, x in zip(TOTALS.sent_t, TOTALS.lat, strict=True) if start <= t <= end]
    return {"audio": TOTALS.audio, "gaps": TOTALS.gaps, "video": TOTALS.video,
            "turns": TOTALS.turns, "reply_chunks": TOTALS.reply_chunks,
            "sessions": TOTALS.sessions, "bad": TOTALS.bad, "up_latency": quantiles(lat),
            "turn_latency": quantiles([x for t, x in zip(TOTALS.turn_t, TOTALS.turn_lat,
                                                         strict=True) if start <= t <= end]),
            "cpu_s": cpu_seconds("self")}


async def control() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode().split():
        if line[0] == "stats":
            out = stats(float(line[1]), float(line[2]))
        else:
            TOTALS.reset()
            out = {"ok": True}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


async def main(a: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    servers = [await loop.create_server(server_conn, a.host, a.tls_port, ssl=ctx, backlog=4096),
               await loop.create_server(server_conn, a.host, a.plain_port, backlog=4096)]
    sys.stdout.write(json.dumps({"ready": True}) + "\n")
    sys.stdout.flush()
    await control()  # stdin closed: the bench is gone
    for s in servers:
        s.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--tls-port", type=int, required=True)
    ap.add_argument("--plain-port", type=int, required=True)
    ap.add_argument("--cert", type=Path, required=True)
    ap.add_argument("--key", type=Path, required=True)
    ap.add_argument("--reply-delay", type=float, default=0.0, help="seconds before a reply")
    args = ap.parse_args()
    REPLY_DELAY_S[0] = args.reply_delay
    uvloop.run(main(args))
