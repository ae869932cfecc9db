"""What the capacity bench reads about processes (from /proc, no psutil) and its percentiles."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int | str) -> float:
    """User + system CPU of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def syscalls(pid: int | str) -> tuple[int, int]:
    """Read and write system calls of a process (all its threads) so far: a socket write is
    also a wakeup of whoever reads it, so writes per message say how well messages batch."""
    io = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    return int(io["syscr"]), int(io["syscw"])


def rss_bytes(pid: int | str) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


def pin(pid: int, cpus: set[int]) -> None:
    """Every thread of `pid` onto `cpus` (threads started later inherit it)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.sched_setaffinity(int(task.name), cpus)


def q(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p * (len(values) - 1)))]


def quantiles(values: list[float]) -> dict[str, float]:
    """n, p50, p99, max (seconds) of `values`."""
    if not values:
        return {"n": 0, "p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    return {"n": len(values), "p50": q(values, 0.5), "p99": q(values, 0.99),
            "max": max(values)}


def cpu_ticks() -> dict[int, tuple[int, int]]:
    """Per CPU: (busy, total) clock ticks since boot, from /proc/stat."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *vals = line.split()
        if name.startswith("cpu") and name[3:].isdigit():
            ticks = [int(v) for v in vals[:8]]
            idle = ticks[3] + ticks[4]  # idle + iowait
            out[int(name[3:])] = (sum(ticks) - idle, sum(ticks))
    return out


def busy_percent(before: dict[int, tuple[int, int]],
                 after: dict[int, tuple[int, int]]) -> dict[int, float]:
    return {c: (after[c][0] - before[c][0]) / max(1, after[c][1] - before[c][1]) * 100
            for c in after if c in before}
