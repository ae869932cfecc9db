"""The capacity bench's verdict per step (within real time or not) and its per-system summary."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from capacity_run import Step

HARNESS = ("harness client", "harness upstream")


@dataclass
class Verdict:
    ok: bool
    up: tuple[float, float]    # added uplink one-way latency p50, p99 (s)
    down: tuple[float, float]  # added downlink
    lost: int
    why: str

    @property
    def worst(self) -> tuple[float, float]:
        return max(self.up[0], self.down[0]), max(self.up[1], self.down[1])


def _lat(s: Step) -> tuple[dict[str, float], dict[str, float]]:
    return s.upstream["up_latency"], s.client["down_latency"]


def verdict(s: Step, d: Step, limit_s: float) -> Verdict:
    (su, sd), (du, dd) = _lat(s), _lat(d)
    up = (su["p50"] - du["p50"], su["p99"] - du["p99"])
    down = (sd["p50"] - dd["p50"], sd["p99"] - dd["p99"])
    lost = s.lost()
    why = []
    if lost:
        why.append(f"{lost} chunks/sessions lost")
    if max(up[1], down[1]) > limit_s or su["n"] == 0 or sd["n"] == 0:
        why.append(f"added p99 {max(up[1], down[1]) * 1000:.1f} ms")
    return Verdict(not why, up, down, lost, ", ".join(why))


def group(name: str) -> str:
    """`gemini-bridge-1` -> `gemini-bridge`: replicas add up."""
    return re.sub(r"-\d+$", "", name)


def by_group(values: dict[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for k, v in values.items():
        out[group(k)] = out.get(group(k), 0.0) + v
    return out


def ms(x: float) -> str:
    return f"{x * 1000:7.2f}"


def print_step(s: Step, v: Verdict | None) -> None:
    c, u = s.client, s.upstream
    lat = f"up p50/p99 {ms(u['up_latency']['p50'])}/{ms(u['up_latency']['p99'])} ms, down " \
          f"{ms(c['down_latency']['p50'])}/{ms(c['down_latency']['p99'])} ms, TTFAB " \
          f"{ms(c['ttfab']['p50'])}/{ms(c['ttfab']['p99'])} ms (turn up " \
          f"{ms(u['turn_latency']['p50'])}/{ms(u['turn_latency']['p99'])}, first chunk down " \
          f"{ms(c['first_chunk_latency']['p50'])}/{ms(c['first_chunk_latency']['p99'])})"
    cpu = ", ".join(f"{k} {x:.0f}%" for k, x in by_group(s.cpu).items())
    head = f"{s.target:8} {s.n:5} sessions ({s.opened} open): {lat}; cpu {cpu}"
    if v is not None:
        head += (f"\n         added up {ms(v.up[0])}/{ms(v.up[1])}, down {ms(v.down[0])}/"
                 f"{ms(v.down[1])} ms -> {'within real time' if v.ok else 'MISSED: ' + v.why}")
    if s.open_errors:
        head += f"\n         open errors: {s.open_errors}"
    if s.noise:
        head += (f"\n         other processes used {s.noise['harness core']:.0f}% of the harness "
                 f"core, {s.noise['sut core']:.0f}% of the SUT core")
    if c["tick_lag"]["p99"] > 0.005:
        head += f"\n         harness late: tick lag p99 {ms(c['tick_lag']['p99'])} ms"
    print(head, flush=True)


def record(s: Step, v: Verdict) -> dict[str, Any]:
    sut = {k: x for k, x in by_group(s.cpu).items() if k not in HARNESS}
    return {"n": s.n, "ok": v.ok, "why": v.why, "added_p50": v.worst[0],
            "added_p99": v.worst[1], "added_up": v.up, "added_down": v.down, "lost": v.lost,
            "cpu": sut, "cpu_total": sum(sut.values()),
            "harness_cpu": sum(s.cpu.get(k, 0.0) for k in HARNESS),
            "tick_lag_p99": s.client["tick_lag"]["p99"], "noise": s.noise,
            "step": s.as_dict()}


def summary(name: str, results: list[tuple[Step, Verdict]], best: tuple[Step, Verdict] | None,
            half: tuple[Step, Verdict] | None, base_rss: dict[str, int],
            direct_half: Step | None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "capacity": best[0].n if best else 0,
                           "steps": [record(s, v) for s, v in results]}
    if best is not None:
        s = best[0]
        per = {k: x / s.n for k, x in by_group(s.cpu).items()}
        out["cpu_per_session"] = per
        out["cpu_per_session_sut"] = sum(x for k, x in per.items() if k not in HARNESS)
    out.update(memory(results, base_rss))
    if half is not None and direct_half is not None:
        hs, hd = half[0].client["ttfab"], direct_half.client["ttfab"]
        out["half"] = {"n": half[0].n, "ok": half[1].ok,
                       "ttfab_added_p50": hs["p50"] - hd["p50"],
                       "ttfab_added_p99": hs["p99"] - hd["p99"],
                       "ttfab": hs, "ttfab_direct": hd, "record": record(*half)}
    print_summary(out)
    return out


def memory(results: list[tuple[Step, Verdict]], base_rss: dict[str, int]) -> dict[str, Any]:
    """Bytes per idle and per active session, per process: the slope from the first step to
    the largest that opened every session (what a process holds at start-up or keeps from its
    first sessions, e.g. JetStream state, drops out; with one step, from before it)."""
    full = [s for s, _ in results if s.opened == s.n]
    if not full:
        return {}
    hi = max(full, key=lambda s: s.n)
    lo = min(full, key=lambda s: s.n)
    out: dict[str, Any] = {"rss_slope_sessions": (lo.n, hi.n) if hi.n > lo.n else (0, hi.n)}
    for kind in ("idle", "active"):
        top: dict[str, int] = getattr(hi, f"rss_{kind}")
        low: dict[str, int] = getattr(lo, f"rss_{kind}") if hi.n > lo.n else base_rss
        span = hi.n - lo.n if hi.n > lo.n else hi.n
        out[f"rss_per_{kind}_session"] = by_group({k: (top[k] - low[k]) / span for k in top})
    return out


def print_summary(out: dict[str, Any]) -> None:
    print(f"\n== {out['name']}: {out['capacity']} sessions within real time on one core")
    if "cpu_per_session" in out:
        print("   CPU per session (% of a core): " + ", ".join(
            f"{k} {x:.3f}" for k, x in out["cpu_per_session"].items())
            + f"; system under test {out['cpu_per_session_sut']:.3f}")
    if "rss_per_idle_session" in out:
        lo, hi = out["rss_slope_sessions"]
        print(f"   memory from {lo} to {hi} sessions:")
        for kind in ("idle", "active"):
            print(f"   memory per {kind} session: " + ", ".join(
                f"{k} {x / 1024:.0f} KB" for k, x in out[f"rss_per_{kind}_session"].items()))
    if "half" in out:
        h = out["half"]
        print(f"   added TTFAB at {h['n']} sessions: p50 {ms(h['ttfab_added_p50'])} ms, "
              f"p99 {ms(h['ttfab_added_p99'])} ms", flush=True)
