"""bench/capacity.py's harness, cheaply: 2 sessions for ~1.5 s direct, through the naive proxy and
through livebus. Each path must deliver every chunk both ways, answer every turn, and yield
latencies; the harness must cost little per session."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import capacity  # noqa: E402
from capacity_run import Step, Upstream, run_step  # noqa: E402

from livebus_dev import devca, procs  # noqa: E402

N, SECONDS, WARMUP = 2, 1.5, 0.5


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Upstream, Path]]:
    certs = devca.ensure_dev_certs(tmp_path_factory.mktemp("capacity") / "certs")
    up = Upstream(procs.free_port(), procs.free_port(), certs.cert, certs.key)
    try:
        yield up, certs.ca
    finally:
        up.stop()


def delivered(s: Step) -> None:
    c, u = s.client, s.upstream
    assert s.opened == N and not s.open_errors
    assert c["audio_sent"] > 0 and u["audio"] == c["audio_sent"] and u["gaps"] == 0
    assert c["turns_sent"] > 0 and u["turns"] == c["turns_sent"] == c["turns_done"]
    assert u["reply_chunks"] == c["reply_chunks"] > 0 and c["down_gaps"] == 0
    assert c["video_sent"] > 0 and c["closed_early"] == 0 and s.lost() == 0
    assert u["up_latency"]["n"] > 0 and c["down_latency"]["n"] > 0 and c["ttfab"]["n"] > 0
    assert u["turn_latency"]["n"] > 0 and c["first_chunk_latency"]["n"] > 0
    assert s.core_busy and all(0 <= v <= 100.5 for v in s.core_busy.values())


def test_direct_and_naive_deliver_everything(upstream: tuple[Upstream, Path]) -> None:
    up, ca = upstream
    direct = run_step("direct", up.plain_port, "any", N, SECONDS, WARMUP, up, {})
    delivered(direct)
    assert direct.upstream["video"] == direct.client["video_sent"]
    cores = os.sched_getaffinity(0)
    with capacity.naive(up, ca, cores) as (port, key, pids):
        s = run_step("naive", port, key, N, SECONDS, WARMUP, up, pids)
    delivered(s)
    assert s.cpu["naive proxy"] > 0 and s.rss_idle["naive proxy"] > 0


def test_livebus_delivers_everything(upstream: tuple[Upstream, Path], tmp_path: Path) -> None:
    up, ca = upstream
    before = dict(os.environ)
    with capacity.livebus(tmp_path, up, ca, os.sched_getaffinity(0), N, 1) as (port, key, pids):
        s = run_step("livebus", port, key, N, SECONDS, WARMUP, up, pids)
    assert dict(os.environ) == before  # the stack's upstream settings did not leak
    delivered(s)
    assert {"gateway-0", "gemini-bridge-0", "nats"} <= set(s.cpu)
    # The frame-sampler passes about one frame in several to the model: fewer arrive.
    assert 0 < s.upstream["video"] <= s.client["video_sent"]


def test_colocated_gateway_runs_the_bridge_and_delivers_everything(
        upstream: tuple[Upstream, Path], tmp_path: Path) -> None:
    up, ca = upstream
    with capacity.livebus(tmp_path, up, ca, os.sched_getaffinity(0), N, 0, colocated=True) as (
            port, key, pids):
        s = run_step("colocated", port, key, N, SECONDS, WARMUP, up, pids)
    delivered(s)
    assert "gateway-0" in s.cpu and not any(k.startswith("gemini-bridge") for k in s.cpu)
