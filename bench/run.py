"""Run every benchmark, one after another (`make bench`; numbers go to docs/benchmarks.md by hand).

    .venv/bin/python bench/run.py            # the full runs docs/benchmarks.md reports (long:
                                             # capacity.py alone ramps for tens of minutes)
    .venv/bin/python bench/run.py --short    # ~30 s: frame_sampler and pipeline, shortened
    .venv/bin/python bench/run.py --only capacity --only pipeline

Each benchmark runs as its own process with the arguments below; the exit code is the first
failure's.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> (full arguments, short arguments; None: not part of the short run)
BENCHES: dict[str, tuple[list[str], list[str] | None]] = {
    "frame_sampler": ([], ["--fps", "10", "--seconds", "1", "--repeat", "1"]),
    # --sessions 2: a single session is held for at least 60 s (enough turns for percentiles).
    "pipeline": ([], ["--sessions", "2", "--seconds", "1", "--bridges", "1"]),
    # Its own quick mode (--quick) still takes minutes: run it with --only capacity.
    "capacity": ([], None),
    # Needs root (it runs inside a network namespace); about 10 minutes.
    "webrtc": ([], None),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--short", action="store_true", help="~30 s: the benches with a short mode")
    ap.add_argument("--only", choices=sorted(BENCHES), action="append",
                    help="run only this benchmark (repeatable)")
    args = ap.parse_args(argv)
    failed = 0
    for name in args.only or list(BENCHES):
        full, short = BENCHES[name]
        if args.short and short is None:
            print(f"\n### {name}: not in the short run (bench/run.py --only {name})", flush=True)
            continue
        cmd = [sys.executable, str(HERE / f"{name}.py"), *(short if args.short and short else full)]
        print(f"\n### {name}: {' '.join(cmd[1:])}", flush=True)
        started = time.monotonic()
        code = subprocess.run(cmd, check=False).returncode
        print(f"### {name}: {'ok' if code == 0 else f'failed ({code})'} in "
              f"{time.monotonic() - started:.0f} s", flush=True)
        failed = failed or code
    return failed


if __name__ == "__main__":
    sys.exit(main())
