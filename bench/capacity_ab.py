"""Same-run A/B of livebus's cost per session: a base revision against the working tree.

    .venv/bin/python bench/capacity_ab.py --base main [--sessions 20] [--seconds 8] [--rounds 3]

The base revision's runtime code (libs/livebus, services/*) is extracted with `git archive` and
put first on the services' PYTHONPATH; without it they import the working tree (the editable
installs). Rounds alternate base and work, each a fresh stack under the capacity harness
(harness on one core, system under test on the other), so both see the same machine. Printed
per process (median over rounds): CPU ms per session-second, socket writes per session-second,
and work/base; then the one-way audio latencies of both.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from capacity import livebus
from capacity_report import by_group, ms
from capacity_run import HERE, Step, Upstream, run_step

from livebus_dev import devca, procs

ROOT = HERE.parent
RUNTIME = ["libs/livebus", "services/gateway", "services/gemini-bridge", "services/frame-sampler",
           "services/tools"]


def extract(rev: str, into: Path) -> str:
    """The runtime packages of `rev` under `into`, as a PYTHONPATH."""
    into.mkdir(parents=True, exist_ok=True)
    archive = into / "base.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), rev, *RUNTIME],
                   check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return os.pathsep.join(str(into / p) for p in RUNTIME)


def measure(tmp: Path, up: Upstream, ca: Path, core: set[int], a: argparse.Namespace,
            pythonpath: str | None) -> Step:
    saved = os.environ.get("PYTHONPATH")
    if pythonpath:
        os.environ["PYTHONPATH"] = pythonpath
    try:
        with livebus(tmp, up, ca, core, a.sessions, a.bridges) as (port, key, pids):
            return run_step("livebus", port, key, a.sessions, a.seconds, a.warmup, up, pids)
    finally:
        os.environ.pop("PYTHONPATH", None)
        if saved is not None:
            os.environ["PYTHONPATH"] = saved


def per_session(steps: list[Step], what: str) -> dict[str, float]:
    """Median over rounds, per process group: CPU ms or socket writes per session-second."""
    rows: dict[str, list[float]] = {}
    for s in steps:
        if what == "cpu":
            vals = by_group({k: v * 10 / s.n for k, v in s.cpu.items()})  # % -> ms/s
        else:
            vals = by_group({k: v[1] / s.n for k, v in s.syscalls.items()})
        for k, v in vals.items():
            rows.setdefault(k, []).append(v)
    return {k: statistics.median(v) for k, v in rows.items()}


def report(base: list[Step], work: list[Step]) -> None:
    for what, unit in (("cpu", "CPU ms per session-second"),
                       ("writes", "socket writes per session-second")):
        b, w = per_session(base, what), per_session(work, what)
        print(f"\n{unit} (median of {len(base)} rounds):")
        print(f"  {'process':18} {'base':>8} {'work':>8} {'work/base':>9}")
        for k in b:
            ratio = f"{w[k] / b[k]:9.2f}" if b[k] else "      n/a"
            print(f"  {k:18} {b[k]:8.3f} {w[k]:8.3f} {ratio}")
        sut_b = sum(v for k, v in b.items() if not k.startswith("harness"))
        sut_w = sum(v for k, v in w.items() if not k.startswith("harness"))
        print(f"  {'livebus total':18} {sut_b:8.3f} {sut_w:8.3f} {sut_w / sut_b:9.2f}")
    print("\none-way audio latency p50/p99 ms (median of rounds), lost chunks:")
    def med(steps: list[Step], side: str, key: str, q: str) -> float:
        return float(statistics.median(getattr(s, side)[key][q] for s in steps))

    for name, steps in (("base", base), ("work", work)):
        print(f"  {name}: up {ms(med(steps, 'upstream', 'up_latency', 'p50'))}/"
              f"{ms(med(steps, 'upstream', 'up_latency', 'p99'))}, down "
              f"{ms(med(steps, 'client', 'down_latency', 'p50'))}/"
              f"{ms(med(steps, 'client', 'down_latency', 'p99'))}, TTFAB "
              f"{ms(med(steps, 'client', 'ttfab', 'p50'))}/"
              f"{ms(med(steps, 'client', 'ttfab', 'p99'))}, "
              f"lost {sum(s.lost() for s in steps)}")


def main(a: argparse.Namespace) -> int:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        print("capacity_ab: needs two cores")
        return 2
    os.sched_setaffinity(0, {cpus[0]})
    print(f"base {a.base} against the working tree; {a.sessions} sessions, {a.seconds:.0f} s "
          f"windows, {a.rounds} rounds; load average "
          f"{Path('/proc/loadavg').read_text().split()[:3]}", flush=True)
    base: list[Step] = []
    work: list[Step] = []
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        path = extract(a.base, tmp / "base")
        certs = devca.ensure_dev_certs(tmp / "certs")
        up = Upstream(procs.free_port(), procs.free_port(), certs.cert, certs.key)
        try:
            for r in range(a.rounds):
                for name, into, pp in (("base", base, path), ("work", work, None)):
                    s = measure(tmp / f"{name}{r}", up, certs.ca, {cpus[1]}, a, pp)
                    into.append(s)
                    total = sum(v for k, v in by_group(s.cpu).items()
                                if not k.startswith("harness"))
                    print(f"round {r} {name}: livebus {total / s.n:.3f} % of a core per "
                          f"session, lost {s.lost()}", flush=True)
        finally:
            up.stop()
    report(base, work)
    print(f"\nload average at the end {Path('/proc/loadavg').read_text().split()[:3]}")
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="main", help="git revision to compare against")
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bridges", type=int, default=2)
    sys.exit(main(ap.parse_args()))
