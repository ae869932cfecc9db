"""`make run` keeps the stack up: a process that exits is restarted with backoff.

In Kubernetes the kubelet plays this role. Here a process that exits is started again with the
same command line and environment (so the same instance id and ports) after a delay that doubles
from `first_delay_s` to `max_delay_s` and starts over once the process stayed up `reset_after_s`.
A process that exits `crash_limit` times within `crash_window_s` stops the stack.
"""

from __future__ import annotations

import signal
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .procs import Proc


@dataclass(frozen=True)
class Policy:
    first_delay_s: float = 0.5
    max_delay_s: float = 8.0
    reset_after_s: float = 30.0
    crash_limit: int = 5
    crash_window_s: float = 60.0


class CrashLoop(Exception):
    """A process keeps exiting: the message says which, and how often."""


def exit_reason(returncode: int) -> str:
    if returncode == -signal.SIGKILL:
        return "killed"
    if returncode < 0:
        return f"signal {-returncode}"
    return f"code {returncode}"


@dataclass
class _Watch:
    proc: Proc
    started: float
    delay: float
    exits: deque[float] = field(default_factory=deque)
    restart_at: float | None = None


class Supervisor:
    """Call `check(now)` periodically; it restarts what exited and says so through `say`."""

    def __init__(self, procs: Iterable[Proc], now: float, say: Callable[[str], None],
                 policy: Policy = Policy(), pid_dir: Path | None = None) -> None:
        self.policy = policy
        self.say = say
        self.pid_dir = pid_dir
        self._watches = [_Watch(p, now, policy.first_delay_s) for p in procs]
        if pid_dir is not None:
            pid_dir.mkdir(parents=True, exist_ok=True)
            for w in self._watches:
                self._write_pid(w.proc)

    def _write_pid(self, proc: Proc) -> None:
        if self.pid_dir is not None:
            (self.pid_dir / f"{proc.name}.pid").write_text(f"{proc.pid}\n")

    def check(self, now: float) -> None:
        """Restart what is due; schedule a restart for what exited. Raises CrashLoop."""
        for w in self._watches:
            if w.restart_at is not None:
                if now >= w.restart_at:
                    w.restart_at = None
                    w.started = now
                    w.proc.start()
                    self._write_pid(w.proc)
                continue
            code = w.proc.returncode()
            if code is not None:
                self._exited(w, code, now)

    def _exited(self, w: _Watch, code: int, now: float) -> None:
        p = self.policy
        if now - w.started >= p.reset_after_s:
            w.delay = p.first_delay_s
        w.exits.append(now)
        while w.exits and w.exits[0] <= now - p.crash_window_s:
            w.exits.popleft()
        if len(w.exits) >= p.crash_limit:
            raise CrashLoop(f"{w.proc.name} keeps crashing ({len(w.exits)} exits in "
                            f"{p.crash_window_s:g} s); stopping livebus")
        w.restart_at = now + w.delay
        self.say(f"{w.proc.name} exited ({exit_reason(code)}); restarted in {w.delay:g} s")
        w.delay = min(p.max_delay_s, w.delay * 2)

    def close(self) -> None:
        """Forget the pid files (the processes are stopped by their owner)."""
        if self.pid_dir is not None:
            for w in self._watches:
                (self.pid_dir / f"{w.proc.name}.pid").unlink(missing_ok=True)
