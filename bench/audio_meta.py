"""What NATS headers cost an audio chunk, against the same metadata as a binary prefix.

    .venv/bin/python bench/audio_meta.py [--chunks 20000]

One process, a real nats-server: a 640-byte PCM chunk (20 ms at 16 kHz) published and received
through nats-py, its seq and send time either in headers (Livebus-Seq, Livebus-Sent-Ns: how
livebus sent audio before livebus.audioframe) or in a 16-byte struct prefix of the payload,
parsed on receipt.
Printed: CPU microseconds per chunk (publish + receive, this process only; the server is Go)
for each and the ratio, alternated over rounds in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

from nats.aio.msg import Msg

from livebus import bus
from livebus_dev.testing.nats import running_nats

PCM = bytes(640)
SEQ, SENT_NS = "Livebus-Seq", "Livebus-Sent-Ns"
PREFIX = struct.Struct(">BxxxIq")  # version, pad, seq, sent ns


async def one(url: str, chunks: int, prefix: bool) -> float:
    pub = await bus.connect(url, "bench-pub")
    sub_nc = await bus.connect(url, "bench-sub")
    got = 0
    done = asyncio.Event()

    async def on(msg: Msg) -> None:
        nonlocal got
        if prefix:
            _, seq, sent = PREFIX.unpack_from(msg.data)
            pcm = memoryview(msg.data)[PREFIX.size:]
        else:
            h = msg.headers or {}
            seq, sent, pcm = int(h[SEQ]), int(h[SENT_NS]), memoryview(msg.data)
        if seq != got + 1 or not sent or len(pcm) != len(PCM):
            raise RuntimeError(f"chunk {seq} out of order or damaged")
        got += 1
        if got == chunks:
            done.set()

    await sub_nc.subscribe("bench.audio", cb=on, pending_msgs_limit=chunks + 1)
    await sub_nc.flush()
    t0 = time.process_time()
    for seq in range(1, chunks + 1):
        if prefix:
            await pub.publish("bench.audio", PREFIX.pack(1, seq, time.time_ns()) + PCM)
        else:
            await pub.publish("bench.audio", PCM, headers={
                SEQ: str(seq), SENT_NS: str(time.time_ns())})
        if seq % 50 == 0:
            await asyncio.sleep(0)  # let the reader run, as a live loop would
    await asyncio.wait_for(done.wait(), 60)
    cpu = time.process_time() - t0
    await pub.close()
    await sub_nc.close()
    return cpu / chunks * 1e6


async def main(a: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp, running_nats(Path(tmp)) as url:
        results: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(a.rounds):
            for prefix in (False, True):
                results[prefix].append(await one(url, a.chunks, prefix))
    h, p = statistics.median(results[False]), statistics.median(results[True])
    print(f"audio chunk through nats-py (publish + receive, CPU us, median of {a.rounds}): "
          f"headers {h:.1f}, binary prefix {p:.1f}, ratio {p / h:.2f}")
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=3)
    sys.exit(asyncio.run(main(ap.parse_args())))
