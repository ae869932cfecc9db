"""`make run` supervises: a process that exits is restarted with backoff and the event is printed.

The whole-stack test starts the stack exactly as `make run` does (`python -m livebus_dev`
with BRIDGES=2, ports from LIVEBUS_DEV_*), holds a conversation through the gateway with the
google-genai SDK and SIGKILLs the bridge holding it three times in a row. The other tests drive
the Supervisor itself with real short-lived processes and a clock they set.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest
from converse import CONFIG, read_turn
from google.genai import types
from google.genai.live import AsyncSession

from livebus import subjects
from livebus_dev import procs
from livebus_dev.devstack import DevStackSettings, Stack
from livebus_dev.procs import Proc
from livebus_dev.supervisor import CrashLoop, Policy, Supervisor
from livebus_dev.testing.stack import MODEL, attach, dev_env, free_ports, gateway_client

RESTART = re.compile(r"^(\S+) exited \((.+?)\); restarted in (\S+) s$", re.M)


@dataclass
class DevRun:
    """`python -m livebus_dev.devstack` as a child process, its output in a file."""

    popen: subprocess.Popen[bytes]
    out: Path
    cfg: DevStackSettings

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def pid(self, name: str) -> int:
        return int((self.cfg.dir / "pids" / f"{name}.pid").read_text())

    def wait_for(self, text: str, timeout: float, count: int = 1) -> None:
        deadline = time.monotonic() + timeout
        while self.output().count(text) < count:
            assert self.popen.poll() is None, f"make run exited:\n{self.output()}"
            assert time.monotonic() < deadline, f"no {text!r} after {timeout} s:\n{self.output()}"
            time.sleep(0.05)


@contextmanager
def make_run(tmp: Path, bridges: int) -> Iterator[DevRun]:
    cfg = DevStackSettings(dir=tmp / "livebus", bridges=bridges,
                           emulator_pace=4.0).model_copy(update=free_ports())
    env = {**os.environ, **dev_env(cfg), "BRIDGES": str(bridges), "PYTHONUNBUFFERED": "1"}
    out = tmp / "make-run.out"
    with out.open("wb") as f:
        popen = subprocess.Popen([sys.executable, "-m", "livebus_dev"], env=env, stdout=f,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
    run = DevRun(popen, out, cfg)
    try:
        run.wait_for("livebus is running", 90)
        yield run
    finally:
        if popen.poll() is None:
            popen.send_signal(signal.SIGINT)
            try:
                popen.wait(40)
            except subprocess.TimeoutExpired:
                for pid_file in (cfg.dir / "pids").glob("*.pid"):
                    _kill(int(pid_file.read_text()))
                popen.kill()
                popen.wait()
        print(run.output()[-4000:])


def _kill(pid: int) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def instance_of(pid: int) -> str:
    """The bridge instance id a process runs as, from its own environment."""
    env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    (value,) = [v for v in env if v.startswith(b"LIVEBUS_BRIDGE_INSTANCE_ID=")]
    return value.split(b"=", 1)[1].decode()


async def owner(stack: Stack, session_id: str) -> str:
    nc = await nats.connect(stack.nats_url)
    try:
        kv = await nc.jetstream().key_value(subjects.KV_SESSION_LEASES)
        entry = await kv.get(session_id)
        assert entry.value is not None
        return entry.value.decode()
    finally:
        await nc.close()


async def ask(session: AsyncSession, text: str) -> None:
    await session.send_client_content(
        turns=types.Content(role="user", parts=[types.Part(text=text)]), turn_complete=True)


def wait_restarted(run: DevRun, name: str, old_pid: int, port: int) -> int:
    deadline = time.monotonic() + 30
    while (pid := run.pid(name)) == old_pid:
        assert time.monotonic() < deadline, f"{name} not restarted:\n{run.output()}"
        time.sleep(0.05)
    procs.wait_http_ok(f"http://{run.cfg.host}:{port}/readyz", timeout=30)
    return pid


@pytest.mark.slow
async def test_sigkill_the_sessions_bridge_three_times(tmp_path: Path) -> None:
    with make_run(tmp_path, bridges=2) as run:
        stack = attach(run.cfg)
        async with gateway_client(stack).aio as client, client.live.connect(
                model=MODEL, config=CONFIG) as session:
            sid = session.session_id
            assert sid
            await ask(session, "hello")
            assert "hello" in (await asyncio.wait_for(read_turn(session), 10)).output_text
            waits: list[float] = []
            expected: list[tuple[str, str, str]] = []
            delays: dict[str, float] = {}
            for i in range(3):
                instance = await owner(stack, sid)
                name = f"gemini-{instance}"
                pid = run.pid(name)
                assert instance_of(pid) == instance, "the pid file names the session's bridge"
                os.kill(pid, signal.SIGKILL)
                killed = time.monotonic()
                text = f"after kill {i}"
                await ask(session, text)
                first_audio = asyncio.Event()
                reader = asyncio.create_task(read_turn(session, 1, first_audio))
                await asyncio.wait_for(first_audio.wait(), 10)
                waits.append(time.monotonic() - killed)
                turn = await asyncio.wait_for(reader, 10)
                assert text in turn.output_text, f"round {i}: the next turn is answered"
                delay = delays.get(name, 0.5)
                delays[name] = delay * 2
                expected.append((name, "killed", f"{delay:g}"))
                await asyncio.to_thread(run.wait_for, f"{name} exited (killed)", 10,
                                        sum(1 for e in expected if e[0] == name))
                port = run.cfg.bridge_health_port + int(instance.split("-")[1])
                new_pid = await asyncio.to_thread(wait_restarted, run, name, pid, port)
                assert instance_of(new_pid) == instance, "same instance id after a restart"
        print("first reply audio after each kill (s):", [round(w, 2) for w in waits])
        assert max(waits) < 3.0, "each next reply within 3 s of the kill"
        assert RESTART.findall(run.output()) == expected, "each restart named, with its backoff"
        assert "keeps crashing" not in run.output()
        pids = [int(p.read_text()) for p in (run.cfg.dir / "pids").glob("*.pid")]
        run.popen.send_signal(signal.SIGINT)  # Ctrl-C
        assert run.popen.wait(40) == 0
        assert run.output().rstrip().endswith("stopped.")
        assert not any(Path(f"/proc/{p}").exists() for p in pids), "every process stopped"


def _started(argv: list[str], tmp: Path) -> Proc:
    return Proc("svc", argv, procs.child_env({}), tmp / "svc.log").start()


def _exit(p: Proc) -> None:
    assert p.popen is not None
    p.popen.wait(10)


def test_backoff_doubles_to_the_cap_and_resets_after_an_uptime(tmp_path: Path) -> None:
    p = _started(["sleep", "60"], tmp_path)
    said: list[str] = []
    sup = Supervisor([p], 0.0, said.append, Policy(crash_limit=100), tmp_path / "pids")
    now = 0.0
    try:
        for _ in range(6):
            p.kill()
            now += 1.0
            sup.check(now)   # seen: scheduled
            now += 10.0
            sup.check(now)   # due: started again
            assert p.alive()
        p.kill()
        now += 30.0          # it stayed up 30 s: back to the first delay
        sup.check(now)
    finally:
        p.kill()
    assert said == [f"svc exited (killed); restarted in {d} s"
                    for d in ("0.5", "1", "2", "4", "8", "8", "0.5")]
    assert int((tmp_path / "pids" / "svc.pid").read_text()) == p.pid
    sup.close()
    assert not (tmp_path / "pids" / "svc.pid").exists()


def test_exit_reasons(tmp_path: Path) -> None:
    said: list[str] = []
    term = _started(["sleep", "60"], tmp_path)
    code = _started(["sh", "-c", "exit 3"], tmp_path)
    sup = Supervisor([term, code], 0.0, said.append)
    term.signal(signal.SIGTERM)
    _exit(term)
    _exit(code)
    sup.check(1.0)
    assert said == ["svc exited (signal 15); restarted in 0.5 s",
                    "svc exited (code 3); restarted in 0.5 s"]
    sup.check(1.0)  # nothing is due yet: no second report
    assert len(said) == 2


def test_a_crash_loop_stops_with_a_plain_message(tmp_path: Path) -> None:
    p = _started(["sh", "-c", "exit 1"], tmp_path)
    sup = Supervisor([p], 0.0, lambda _: None)
    now = 0.0
    with pytest.raises(CrashLoop) as e:
        for _ in range(10):
            _exit(p)
            now += 1.0
            sup.check(now)
            now += 8.0
            sup.check(now)  # restarted
    assert str(e.value) == "svc keeps crashing (5 exits in 60 s); stopping livebus"
