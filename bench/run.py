"""Run every benchmark, one after another (`make bench`; numbers go to docs/benchmarks.md by hand).

    .venv/bin/python bench/run.py            # the full runs docs/benchmarks.md reports (~5 min)
    .venv/bin/python bench/run.py --short    # a quick run that shows each bench works
    .venv/bin/python bench/run.py --only pipeline

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

# name -> (full arguments, short arguments)
BENCHES: dict[str, tuple[list[str], list[str]]] = {
    "frame_sampler": ([], ["--fps", "10", "--seconds", "1", "--repeat", "1"]),
    # --sessions 2: a single session is held for at least 60 s (enough turns for percentiles).
    "pipeline": ([], ["--sessions", "2", "--seconds", "1", "--bridges", "1"]),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--short", action="store_true", help="a quick run of each benchmark")
    ap.add_argument("--only", choices=sorted(BENCHES), action="append",
                    help="run only this benchmark (repeatable)")
    args = ap.parse_args(argv)
    failed = 0
    for name in args.only or list(BENCHES):
        full, short = BENCHES[name]
        cmd = [sys.executable, str(HERE / f"{name}.py"), *(short if args.short else full)]
        print(f"\n### {name}: {' '.join(cmd[1:])}", flush=True)
        started = time.monotonic()
        code = subprocess.run(cmd, check=False).returncode
        print(f"### {name}: {'ok' if code == 0 else f'failed ({code})'} in "
              f"{time.monotonic() - started:.0f} s", flush=True)
        failed = failed or code
    return failed


if __name__ == "__main__":
    sys.exit(main())
