"""Probes of a running stack's health and metrics pages, for the NATS node-loss tests."""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from livebus_dev.devstack import Stack


def metric_sums(url: str) -> dict[str, float]:
    """Every sample of a /metrics page summed by name and label values (no timestamps)."""
    with urllib.request.urlopen(url, timeout=5) as r:
        text = r.read().decode()
    sums: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            key = f"{sample.name}{{{labels}}}"
            sums[key] = sums.get(key, 0.0) + sample.value
    return sums


def reliability_metrics(stack: Stack) -> dict[str, float]:
    ports = [stack.cfg.gateway_health_port] + [stack.cfg.bridge_health_port + i
                                               for i in range(stack.cfg.bridges)]
    total: dict[str, float] = {}
    for port in ports:
        for key, value in metric_sums(f"http://127.0.0.1:{port}/metrics").items():
            if key.startswith(("livebus_control_", "livebus_audio_lost", "livebus_shadow_")) \
                    or (key.startswith("livebus_nats_events_total") and "reconnect" in key):
                name = key.split("{")[0] + "{" + ",".join(
                    p for p in key.split("{")[1].rstrip("}").split(",")
                    if not p.startswith("connection=")) + "}"
                total[name] = total.get(name, 0.0) + value
    return {k: v for k, v in total.items() if v and "_created{" not in k}


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
    except OSError:
        return 0


async def until_status(urls: list[str], want: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        got = [await asyncio.to_thread(status, u) for u in urls]
        if all(g == want for g in got):
            return
        assert time.monotonic() < deadline, f"readiness {got}, wanted {want}"
        await asyncio.sleep(0.1)
