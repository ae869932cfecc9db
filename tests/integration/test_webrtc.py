"""The WebRTC edge end to end, all inside one network namespace (ICE sees only 10.77.0.x):
`make run`'s stack (real nats-server, emulator, bridge, gateway, edge) and an aiortc client
that gets a token, POSTs its offer, sends its setup on the data channel and speaks."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import pytest

from livebus_dev.devstack import DevStackSettings
from livebus_dev.testing import netns
from livebus_dev.testing.stack import MODEL, dev_env, free_ports

CLIENT = Path(__file__).with_name("webrtc_client.py")
AIORTC_PREFETCH_S = 4 * 0.020  # the aiortc client holds 4 audio frames before it decodes


def _wait_line(proc: subprocess.Popen[str], needle: str, timeout: float = 90.0) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError("make run's stack exited:\n" + "".join(lines))
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError("no '" + needle + "' in:\n" + "".join(lines))


def _drain(pipe: IO[str]) -> None:
    with contextlib.suppress(ValueError, OSError):  # closed under us when the stack stops
        for _ in pipe:
            pass


def _converse(tmp_path: Path, bridges: int, kill_owner: bool) -> dict[str, Any]:
    with netns.one() as ns:
        # Replies at the pace of speech: the barge-in comes while the reply is still streaming.
        cfg = DevStackSettings(dir=tmp_path / "livebus", bridges=bridges, emulator_pace=1.0,
                               **free_ports())
        env = {**os.environ, **dev_env(cfg), "LIVEBUS_WEBRTC_ICE_ADDRESSES": ns.address}
        stack = ns.popen([sys.executable, "-m", "livebus_dev"], env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        lines = _wait_line(stack, "Ctrl-C stops everything")
        # Keep reading its log: a full pipe would block the supervisor, and then its shutdown.
        assert stack.stdout is not None
        threading.Thread(target=_drain, args=(stack.stdout,), daemon=True).start()
        whip = next(line.split()[-1] for line in lines if line.startswith("  WebRTC (WHIP)  "))
        assert whip == f"https://127.0.0.1:{cfg.webrtc_port}/whip"
        key = (cfg.dir / "api-key").read_text().strip()
        out = ns.run([sys.executable, str(CLIENT), f"https://127.0.0.1:{cfg.https_port}", whip,
                      str(cfg.dir / "ca.pem"), key, MODEL, f"https://127.0.0.1:{cfg.emulator_port}",
                      (cfg.dir / "emulator-key").read_text().strip(),
                      *([f"nats://127.0.0.1:{cfg.nats_port}", str(cfg.dir / "pids")]
                        if kill_owner else [])], timeout=120)
        return dict(json.loads(out.splitlines()[-1]))


@pytest.mark.slow
def test_a_conversation_over_webrtc(tmp_path: Path) -> None:
    report = _converse(tmp_path, bridges=1, kill_owner=False)
    print("reply audio heard after interrupted (s):", report["loud_after_interrupted_s"],
          "frames:", len(report["frame_sizes"]))
    assert report["reply_peak"] > 3000  # reply audio came back on the track
    assert "serverContent" in report["kinds"] and "setupComplete" in report["kinds"]
    assert report["loud_before_interrupted"]  # the reply was playing when it was interrupted
    assert report["loud_after_interrupted_s"] < 0.1 + AIORTC_PREFETCH_S
    assert report["delete_status"] == 200
    (upstream,) = report["emulator"]  # the speech reached the emulator through the bus
    assert upstream["audio_seconds"] > 3.0 and upstream["turns"] >= 1
    assert upstream["interruptions"] >= 1
    # the camera track's frames reached the model through the frame-sampler, within 512x512
    assert report["frame_sizes"]
    assert all(0 < w <= 512 and 0 < h <= 512 for w, h in report["frame_sizes"])


@pytest.mark.slow
def test_the_conversation_survives_sigkill_of_its_bridge(tmp_path: Path) -> None:
    report = _converse(tmp_path, bridges=2, kill_owner=True)
    assert report["killed"].startswith("bridge-")
    assert report["state_before_delete"] == "connected"  # the peer connection stayed up
    assert report["delete_status"] == 200
