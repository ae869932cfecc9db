"""The Makefile: `make help` lists only targets that work; `make bench` completes a short run."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from livebus_dev.devstack import DevStackSettings, Stack, banner

ROOT = Path(__file__).resolve().parents[1]


def make(*args: str) -> str:
    r = subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def listed_targets() -> list[str]:
    return re.findall(r"^  make (\S+)", make("help"), re.M)


def test_help_lists_every_documented_target() -> None:
    targets = listed_targets()
    assert {"run", "test", "bench", "lint", "docs"} <= set(targets)


@pytest.mark.parametrize("target", listed_targets())
def test_each_listed_target_refers_only_to_what_exists(target: str) -> None:
    """A dry run of the target: every script it runs exists, every module it runs imports."""
    commands = make("-n", target)
    for script in re.findall(r"(?<![\w/.-])((?:bench|scripts|examples)/[\w/.-]+\.py)", commands):
        assert (ROOT / script).is_file(), f"make {target} runs {script}, which does not exist"
    for module in re.findall(r"python -m ([\w.]+)", commands):
        if module not in ("venv", "pip", "pytest"):
            assert importlib.util.find_spec(module) is not None, f"make {target}: -m {module}"


def test_bench_short_is_what_make_bench_runs() -> None:
    assert "bench/run.py --short" in make("-n", "bench", "BENCH_ARGS=--short")


@pytest.mark.slow
def test_bench_short_run_completes() -> None:
    """`make bench BENCH_ARGS=--short` (its command, without make's venv check): ~30 s."""
    r = subprocess.run([sys.executable, "bench/run.py", "--short"], cwd=ROOT, capture_output=True,
                       text=True, timeout=110)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for name in ("frame_sampler", "pipeline"):
        assert re.search(rf"^### {name}: ok in \d+ s$", r.stdout, re.M), r.stdout[-3000:]
    assert re.search(r"^livebus +turns +[1-9]", r.stdout, re.M), "turns through livebus counted"


def test_make_run_prints_the_whip_endpoint_on_a_line_of_its_own() -> None:
    cfg = DevStackSettings(webrtc_port=18643)
    lines = banner(Stack(cfg)).splitlines()
    assert "  WebRTC (WHIP)  https://127.0.0.1:18643/whip" in lines
    assert any(line.startswith("  services") and line.endswith(", 1 webrtc-edge") for line in lines)
    assert not any("WebRTC" in line for line in
                   banner(Stack(DevStackSettings(webrtc_port=0))).splitlines())
