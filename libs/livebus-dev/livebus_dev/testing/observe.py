"""Every metrics endpoint of a running Stack, scraping them, and quantiles from buckets."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

from livebus import tls
from livebus_dev.devstack import Stack


@dataclass(frozen=True)
class Target:
    job: str       # the service: gateway, gemini-bridge, frame-sampler, tools, gemini-emulator
    pod: str       # the instance, as Kubernetes would name it
    address: str   # host:port serving /livez, /readyz, /metrics
    https: bool = False

    @property
    def url(self) -> str:
        return f"{'https' if self.https else 'http'}://{self.address}"


def targets(stack: Stack) -> list[Target]:
    cfg, host = stack.cfg, stack.cfg.host
    out = [Target("gateway", f"gateway-{i}", f"{host}:{cfg.gateway_health_port + i}")
           for i in range(cfg.gateways)]
    out += [Target("gemini-bridge", f"bridge-{i}", f"{host}:{cfg.bridge_health_port + i}")
            for i in range(cfg.bridges)]
    out += [Target("frame-sampler", f"sampler-{i}", f"{host}:{port}")
            for i, port in enumerate(stack.sampler_ports)]
    out += [Target("tools", f"tools-{i}", f"{host}:{cfg.tools_health_port + i}")
            for i in range(cfg.tools)]
    if stack.emulator_url:
        out.append(Target("gemini-emulator", "emulator-0", f"{host}:{cfg.emulator_port}",
                          https=True))
    return out


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Prometheus text -> {(sample name, sorted labels): value}."""
    out: Samples = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def scrape(stack: Stack, jobs: Iterable[str] | None = None) -> dict[Target, Samples]:
    wanted = set(jobs) if jobs is not None else None
    ctx = tls.client_context(stack.ca_file)
    out: dict[Target, Samples] = {}
    async with httpx.AsyncClient(verify=ctx, timeout=10) as c:
        for t in targets(stack):
            if wanted is None or t.job in wanted:
                r = await c.get(f"{t.url}/metrics")
                r.raise_for_status()
                out[t] = parse(r.text)
    return out


def merged(scraped: dict[Target, Samples]) -> Samples:
    """Sum the same series over instances (labels other than the metric's own are dropped)."""
    out: Samples = {}
    for samples in scraped.values():
        for k, v in samples.items():
            out[k] = out.get(k, 0.0) + v
    return out


@dataclass(frozen=True)
class Hist:
    buckets: list[tuple[float, float]]  # (upper bound, cumulative count)
    count: float
    sum: float

    def quantile(self, q: float) -> float:
        """Like PromQL's histogram_quantile (linear inside a bucket); NaN when empty."""
        if self.count <= 0:
            return math.nan
        rank = q * self.count
        lower, below = 0.0, 0.0
        for upper, cum in self.buckets:
            if cum >= rank:
                if math.isinf(upper):
                    return lower
                inside = cum - below
                return lower + (upper - lower) * ((rank - below) / inside if inside else 1.0)
            lower, below = upper, cum
        return lower

    @property
    def mean(self) -> float:
        return self.sum / self.count if self.count else math.nan


def histogram(samples: Samples, name: str, before: Samples | None = None,
              **labels: str) -> Hist:
    """A histogram (summed over other labels), as the increase since `before` when given."""
    def pick(s: Samples, suffix: str) -> dict[float, float] | float:
        acc: dict[float, float] = {}
        total = 0.0
        for (n, lbls), v in s.items():
            if n != name + suffix:
                continue
            d = dict(lbls)
            if any(d.get(k) != want for k, want in labels.items()):
                continue
            if suffix == "_bucket":
                le = float(d["le"])
                acc[le] = acc.get(le, 0.0) + v
            else:
                total += v
        return acc if suffix == "_bucket" else total

    def delta(suffix: str) -> dict[float, float] | float:
        now = pick(samples, suffix)
        if before is None:
            return now
        then = pick(before, suffix)
        if isinstance(now, dict):
            assert isinstance(then, dict)
            return {le: v - then.get(le, 0.0) for le, v in now.items()}
        assert isinstance(then, float)
        return now - then

    buckets = delta("_bucket")
    count, total = delta("_count"), delta("_sum")
    assert isinstance(buckets, dict) and isinstance(count, float) and isinstance(total, float)
    return Hist(sorted(buckets.items()), count, total)
