"""CPU per WebRTC session at the edge: livebus's media path against a FastRTC-style pipeline.

    sudo .venv/bin/python bench/webrtc.py [--sessions 4] [--seconds 20] [--repeat 3]

Everything runs inside a network namespace this bench creates (livebus_dev.testing.netns: ICE
must never reach this machine's own addresses), so it needs root. An aiortc client process
replays pre-encoded Opus (20 ms packets) and VP8 over N peer connections; a receiving process
runs one pipeline (bench/webrtc_pipelines.py) on every decoded frame:

- livebus: the edge's path (Opus decoded on the event loop straight to 16 kHz PCM; video
  converted and JPEG-encoded only when sent)
- fastrtc: aiortc's audio resampled into an array, and every video frame converted to an
  array, `frame.to_ndarray(format="bgr24")`, at full rate
- decode: frames dropped after aiortc decodes them (the floor of aiortc's own decoding)

Scenarios: audio only; audio + 640x480 at 15 fps (~800 kbit/s: a client that ignores the
page's cap, every pipeline); and audio + what the livebus page sends of that camera (rtc.js
caps its video sender at 3 fps within 512x512 and 300 kbit/s: 512x384 at 3 fps, livebus only).
The video goal compares livebus's path for its page against FastRTC's for 640x480 at 15 fps.

Pipelines alternate within each repeat, so all of them see the same machine load. The figure
is the receiving process's CPU (all threads, /proc) over the measured window, per session, in
% of one core; the best of the repeats is reported (the least disturbed by other load) with
the range over the repeats, and a video path is its scenario minus audio only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from capacity_stats import cpu_seconds
from webrtc_media import make

from livebus_dev.testing import netns

HERE = Path(__file__).resolve().parent
PIPELINES = ("livebus", "fastrtc", "decode")
CAPPED = "audio+capped"  # the video as the livebus page sends it
SCENARIOS = {"audio": PIPELINES, CAPPED: ("livebus",), "audio+video": PIPELINES}
WIDTH, HEIGHT, FPS = 640, 480, 15
GOAL_AUDIO_PCT, GOAL_VIDEO_RATIO = 2.0, 3.0


@dataclass
class Result:
    scenario: str
    pipeline: str
    sessions: int
    edge_pct: float            # % of a core per session, the receiving process
    client_pct: float          # % of a core per session, the sending harness
    audio_fps: float           # audio frames handled per second and session
    video_fps: float           # video frames decoded per second and session
    converted_fps: float       # video frames converted per second and session


class Proc:
    """A process inside the namespace that answers one JSON line per command on stdin."""

    def __init__(self, ns: netns.Namespace, argv: list[str]) -> None:
        self.proc = ns.popen([sys.executable, *argv], cwd=HERE, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)

    def line(self) -> dict[str, Any]:
        out: IO[str] | None = self.proc.stdout
        assert out is not None
        text = out.readline()
        if not text:
            raise RuntimeError(f"{self.proc.args} exited ({self.proc.wait()})")
        value: dict[str, Any] = json.loads(text)
        return value

    def ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.line()

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def measure(ns: netns.Namespace, media: Path, scenario: str, pipeline: str, sessions: int,
            warmup: float, seconds: float) -> Result:
    edge = Proc(ns, ["webrtc_edge.py", "--pipeline", pipeline])
    client: Proc | None = None
    try:
        port = edge.line()["ready"]
        argv = ["webrtc_client.py", "--port", str(port), "--sessions", str(sessions),
                "--media", str(media), *(["--video"] if scenario != "audio" else []),
                *(["--capped"] if scenario == CAPPED else [])]
        client = Proc(ns, argv)
        assert client.line()["connected"] == sessions
        time.sleep(warmup)
        t0, e0, c0, s0 = (time.monotonic(), cpu_seconds(edge.proc.pid),
                          cpu_seconds(client.proc.pid), edge.ask("stats"))
        time.sleep(seconds)
        t1, e1, c1, s1 = (time.monotonic(), cpu_seconds(edge.proc.pid),
                          cpu_seconds(client.proc.pid), edge.ask("stats"))
    finally:
        if client is not None:
            client.stop()
        edge.stop()
    span = (t1 - t0) * sessions

    def rate(key: str) -> float:
        return (s1.get(key, 0) - s0.get(key, 0)) / span

    return Result(scenario, pipeline, sessions, (e1 - e0) / span * 100, (c1 - c0) / span * 100,
                  rate("audio_frames"), rate("video_frames"), rate("converted"))


def runs(results: list[Result], scenario: str, pipeline: str) -> list[Result]:
    return [r for r in results if (r.scenario, r.pipeline) == (scenario, pipeline)]


def best(results: list[Result], scenario: str, pipeline: str) -> Result:
    return min(runs(results, scenario, pipeline), key=lambda r: r.edge_pct)


def report(results: list[Result], sessions: int) -> dict[str, float]:
    print(f"\nbest of the repeats (range), {sessions} sessions a process, % of one core per "
          "session")
    print(f"{'scenario':<13} {'pipeline':<8} {'edge %':>7} {'range':>13} {'client %':>8} "
          f"{'audio f/s':>9} {'video f/s':>9} {'converted f/s':>13}")
    for scenario, pipelines in SCENARIOS.items():
        for pipeline in pipelines:
            r = best(results, scenario, pipeline)
            pcts = [x.edge_pct for x in runs(results, scenario, pipeline)]
            spread = f"{min(pcts):.2f}-{max(pcts):.2f}"
            print(f"{scenario:<13} {pipeline:<8} {r.edge_pct:7.2f} {spread:>13} "
                  f"{r.client_pct:8.2f} {r.audio_fps:9.1f} {r.video_fps:9.1f} "
                  f"{r.converted_fps:13.2f}")
    pct = {(s, p): best(results, s, p).edge_pct for s, ps in SCENARIOS.items() for p in ps}
    video = {p: pct["audio+video", p] - pct["audio", p] for p in PIPELINES}
    capped = pct[CAPPED, "livebus"] - pct["audio", "livebus"]
    out = {
        "audio_livebus_pct": pct["audio", "livebus"],
        "audio_ratio": pct["audio", "fastrtc"] / pct["audio", "livebus"],
        "av_ratio": pct["audio+video", "fastrtc"] / pct[CAPPED, "livebus"],
        "video_path_livebus_pct": capped,
        "video_path_livebus_uncapped_pct": video["livebus"],
        "video_path_fastrtc_pct": video["fastrtc"],
        "video_path_decode_pct": video["decode"],
        "video_path_ratio": video["fastrtc"] / max(capped, 1e-9),
        "video_path_uncapped_ratio": video["fastrtc"] / max(video["livebus"], 1e-9),
    }
    print(f"\naudio only, livebus: {out['audio_livebus_pct']:.2f} % of a core per session "
          f"(goal < {GOAL_AUDIO_PCT} %); fastrtc/livebus {out['audio_ratio']:.2f}x")
    print(f"audio+video, fastrtc (640x480 at 15 fps) / livebus (its page's video): "
          f"{out['av_ratio']:.2f}x")
    print(f"video path (minus audio only): livebus {capped:.2f} % for its page's video, "
          f"{video['livebus']:.2f} % for 640x480 at 15 fps; fastrtc {video['fastrtc']:.2f} %, "
          f"aiortc's decode alone {video['decode']:.2f} %")
    print(f"video path ratio, fastrtc / livebus: {out['video_path_ratio']:.2f}x with the page's "
          f"cap (goal >= {GOAL_VIDEO_RATIO}x), {out['video_path_uncapped_ratio']:.2f}x for a "
          "client that ignores it")
    return out


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=4, help="peer connections per run")
    ap.add_argument("--seconds", type=float, default=20.0, help="measured window per run")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds after connecting")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path, help="write every run and the summary here")
    args = ap.parse_args(argv)
    print(f"load average at start: {loadavg()}", flush=True)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="livebus-bench-webrtc-") as tmp:
        media = Path(tmp) / "media.pickle"
        make(WIDTH, HEIGHT, FPS).save(media)
        with netns.one() as ns:
            for i in range(args.repeat):
                for scenario, pipelines in SCENARIOS.items():
                    for pipeline in pipelines:
                        r = measure(ns, media, scenario, pipeline, args.sessions, args.warmup,
                                    args.seconds)
                        results.append(r)
                        print(f"run {i + 1} {scenario:<13} {pipeline:<8} edge "
                              f"{r.edge_pct:6.2f} % client {r.client_pct:5.2f} % video "
                              f"{r.video_fps:5.1f} f/s converted {r.converted_fps:5.2f} f/s "
                              f"(load {loadavg()})", flush=True)
    summary = report(results, args.sessions)
    print(f"load average at end: {loadavg()}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"runs": [r.__dict__ for r in results],
                                         "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
