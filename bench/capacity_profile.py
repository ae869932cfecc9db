"""Where a livebus session's CPU goes, per process, at a moderate load of the capacity harness.

    .venv/bin/pip install py-spy        # not a project requirement
    .venv/bin/python bench/capacity_profile.py [--sessions 20] [--seconds 15]

Same setup as capacity.py (harness on one core, livebus on the other); py-spy samples each
Python service for the measured window. Printed per process: its CPU per session, the functions
where samples end (self time) and the nearest livebus frame of each sample (which of our code
the time is spent for).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from capacity import livebus
from capacity_report import by_group
from capacity_run import Upstream, run_step

from livebus_dev import devca, procs

OWN = ("livebus_gateway", "livebus_bridge", "livebus_sampler", "livebus/")


def frame_name(frame: str) -> str:
    """`send (site-packages/websockets/protocol.py:123)` -> `send (websockets/protocol.py)`."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "services/", "libs/livebus/", "python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


def summarize(raw: Path, top: int) -> tuple[int, list[tuple[str, float]], list[tuple[str, float]]]:
    leaf: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [frame_name(f) for f in stack.split(";")]
        total += n
        leaf[frames[-1]] += n
        mine = next((f for f in reversed(frames) if any(m in f for m in OWN)), "(no livebus frame)")
        own[mine] += n
    def share(c: Counter[str]) -> list[tuple[str, float]]:
        return [(k, v / total * 100) for k, v in c.most_common(top)]

    return total, share(leaf), share(own)


def main(a: argparse.Namespace) -> int:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("py-spy is not installed: .venv/bin/pip install py-spy")
        return 2
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[0]})
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        certs = devca.ensure_dev_certs(tmp / "certs")
        up = Upstream(procs.free_port(), procs.free_port(), certs.cert, certs.key)
        try:
            with livebus(tmp, up, certs.ca, {cpus[1]}, a.sessions, a.bridges) as target:
                port, key, pids = target
                python = {k: p for k, p in pids.items() if k != "nats"}
                spies: list[subprocess.Popen[bytes]] = []

                def record() -> None:
                    for name, pid in python.items():
                        spies.append(subprocess.Popen(
                            [spy, "record", "-p", str(pid), "-d", str(int(a.seconds)), "-r",
                             str(a.rate), "-f", "raw", "--nonblocking", "-o",
                             str(tmp / f"{name}.txt")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL))

                step = run_step("livebus", port, key, a.sessions, a.seconds + 1, a.warmup,
                                up, pids, on_window=record)
                for s in spies:
                    s.wait()
        finally:
            up.stop()
        print(f"{a.sessions} sessions, lost {step.lost()}; CPU % of a core per session: "
              + ", ".join(f"{k} {v / a.sessions:.3f}" for k, v in by_group(step.cpu).items()))
        print("socket writes / reads per session-second: " + ", ".join(
            f"{k} {w / a.sessions:.0f} / {r / a.sessions:.0f}"
            for k, (r, w) in step.syscalls.items()))
        for name in python:
            raw = tmp / f"{name}.txt"
            if not raw.exists():
                print(f"\n## {name}: no profile")
                continue
            if a.keep:
                a.keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(raw, a.keep / raw.name)
            total, leaf, own = summarize(raw, a.top)
            print(f"\n## {name} ({step.cpu[name] / a.sessions:.3f} % of a core per session, "
                  f"{total} samples)\nself time:")
            for k, v in leaf:
                print(f"  {v:5.1f} %  {k}")
            print("nearest livebus frame:")
            for k, v in own:
                print(f"  {v:5.1f} %  {k}")
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--warmup", type=float, default=3.0, help="before sampling starts")
    ap.add_argument("--rate", type=int, default=250)
    ap.add_argument("--bridges", type=int, default=2)
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--keep", type=Path, help="copy the raw py-spy stacks here")
    sys.exit(main(ap.parse_args()))
