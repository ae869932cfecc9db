"""One measured step of the capacity bench: N client sessions against one target, and its numbers.

A step starts a fresh harness client, waits until its N sessions are open and idle (memory),
lets it send, and samples every process's CPU over the client's measured window; then the
upstream's view of the same window (uplink latency, what arrived) completes the record.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from capacity_stats import busy_percent, cpu_seconds, cpu_ticks, rss_bytes, syscalls

HERE = Path(__file__).resolve().parent


class Upstream:
    """The minimal upstream process and its stdin/stdout control channel."""

    def __init__(self, tls_port: int, plain_port: int, cert: Path, key: Path,
                 reply_delay: float = 0.0) -> None:
        self.tls_port, self.plain_port = tls_port, plain_port
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "capacity_upstream.py"), "--tls-port", str(tls_port),
             "--plain-port", str(plain_port), "--cert", str(cert), "--key", str(key),
             "--reply-delay", str(reply_delay)],
            cwd=HERE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if not json.loads(self._line()).get("ready"):
            raise RuntimeError("the upstream did not start")

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the upstream exited")
        return line

    def ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        out: dict[str, Any] = json.loads(self._line())
        return out

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@dataclass
class Step:
    target: str
    n: int
    client: dict[str, Any] = field(default_factory=dict)
    upstream: dict[str, Any] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)        # % of one core, whole process
    rss_idle: dict[str, int] = field(default_factory=dict)     # bytes
    rss_active: dict[str, int] = field(default_factory=dict)
    opened: int = 0
    open_errors: list[str] = field(default_factory=list)
    core_busy: dict[int, float] = field(default_factory=dict)  # % per CPU, every process
    noise: dict[str, float] = field(default_factory=dict)  # % of each core others used
    syscalls: dict[str, tuple[float, float]] = field(default_factory=dict)  # reads, writes /s

    def foreign(self, core: int, ours: set[str]) -> float:
        """% of `core` used by processes other than `ours` (other users of the machine)."""
        return self.core_busy.get(core, 0.0) - sum(v for k, v in self.cpu.items() if k in ours)

    def lost(self) -> int:
        """Audio chunks lost either way, plus sessions that did not open or closed early."""
        c, u = self.client, self.upstream
        up: int = c.get("audio_sent", 0) - u.get("audio", 0) + u.get("gaps", 0)
        down: int = u.get("reply_chunks", 0) - c.get("reply_chunks", 0) + c.get("down_gaps", 0)
        closed: int = c.get("closed_early", 0)
        return max(0, up) + max(0, down) + closed + (self.n - self.opened)

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "n": self.n, "client": self.client,
                "upstream": self.upstream, "cpu": self.cpu, "rss_idle": self.rss_idle,
                "rss_active": self.rss_active, "opened": self.opened,
                "open_errors": self.open_errors, "lost": self.lost(),
                "core_busy": self.core_busy, "noise": self.noise, "syscalls": self.syscalls}


def _read(stream: IO[str], want: str) -> dict[str, Any]:
    while True:
        line = stream.readline()
        if not line:
            raise RuntimeError(f"the client exited before '{want}'")
        if line.startswith("{"):
            msg: dict[str, Any] = json.loads(line)
            if msg.get("event") == want:
                return msg


def _cpu(pids: dict[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


def _io(pids: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {name: syscalls(pid) for name, pid in pids.items()}


def run_step(target: str, port: int, key: str, n: int, seconds: float, warmup: float,
             upstream: Upstream, sut: dict[str, int],
             on_window: Callable[[], None] | None = None, video: bool = True) -> Step:
    """`sut`: name -> pid of the processes under test (empty for the direct baseline);
    `on_window` runs when the measured window starts; `video`: a JPEG a second per session."""
    step = Step(target, n)
    upstream.ask("reset")
    client = subprocess.Popen(
        [sys.executable, str(HERE / "capacity_client.py"), "--port", str(port), f"--key={key}",
         "--sessions", str(n), "--seconds", str(seconds), "--warmup", str(warmup)]
        + ([] if video else ["--no-video"]),
        cwd=HERE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert client.stdin is not None and client.stdout is not None
    try:
        idle = _read(client.stdout, "idle")
        step.opened, step.open_errors = idle["open"], idle["errors"]
        step.rss_idle = {k: rss_bytes(p) for k, p in sut.items()}
        client.stdin.write("go\n")
        client.stdin.flush()
        watched = {**sut, "harness upstream": upstream.proc.pid, "harness client": client.pid}
        _read(client.stdout, "window")
        t0, cpu0, ticks0, io0 = time.monotonic(), _cpu(watched), cpu_ticks(), _io(watched)
        if on_window is not None:
            on_window()
        _read(client.stdout, "window_end")
        t1, cpu1, ticks1, io1 = time.monotonic(), _cpu(watched), cpu_ticks(), _io(watched)
        step.core_busy = busy_percent(ticks0, ticks1)
        step.rss_active = {k: rss_bytes(p) for k, p in sut.items()}
        step.cpu = {k: (cpu1[k] - cpu0[k]) / (t1 - t0) * 100 for k in watched}
        step.syscalls = {k: ((io1[k][0] - io0[k][0]) / (t1 - t0),
                             (io1[k][1] - io0[k][1]) / (t1 - t0)) for k in watched}
        step.client = _read(client.stdout, "done")
        start, end = step.client["window"]
        step.upstream = upstream.ask(f"stats {start} {end}")
    finally:
        client.stdin.close()
        try:
            client.wait(15)
        except subprocess.TimeoutExpired:
            client.kill()
            client.wait()
        client.stdout.close()
    return step
