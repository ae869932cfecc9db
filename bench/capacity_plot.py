"""The capacity bench's plot: added audio latency and CPU per process against sessions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

# colocated: the design-change ceiling of capacity_colocated.py, when the run measured it.
STYLE = {"livebus": "-", "colocated": ":", "naive": "--"}


def plot(out: dict[str, Any], path: Path) -> None:
    fig, (lat, cpu) = plt.subplots(2, 1, figsize=(9, 8), sharex=True)
    for name in STYLE:
        steps = out.get(name, {}).get("steps", [])
        if not steps:
            continue
        n = [s["n"] for s in steps]
        ls = STYLE[name]
        lat.plot(n, [s["added_p50"] * 1000 for s in steps], ls, marker="o",
                 label=f"{name} added p50")
        lat.plot(n, [s["added_p99"] * 1000 for s in steps], ls, marker="^",
                 label=f"{name} added p99")
        procs = sorted({k for s in steps for k in s["cpu"]})
        for p in procs:
            cpu.plot(n, [s["cpu"].get(p, 0.0) for s in steps], ls, marker=".",
                     label=f"{name}: {p}")
        if len(procs) > 1:
            cpu.plot(n, [s["cpu_total"] for s in steps], ls, marker="s", linewidth=2,
                     label=f"{name}: all")
        cpu.plot(n, [s["harness_cpu"] for s in steps], ls, color="grey", alpha=0.6,
                 label=f"harness (client + upstream), {name} run")
        cap = out[name].get("capacity", 0)
        if cap:
            for ax in (lat, cpu):
                ax.axvline(cap, linestyle=ls, color="black", alpha=0.3)
    lat.axhline(10, color="red", alpha=0.5, linewidth=1)
    lat.set_ylabel("added one-way audio latency, ms\n(worst direction; red: 10 ms)")
    lat.set_yscale("symlog", linthresh=1)
    lat.set_ylim(bottom=0)
    lat.legend(fontsize=8)
    cpu.axhline(100, color="red", alpha=0.5, linewidth=1)
    cpu.set_ylabel("CPU, % of one core")
    cpu.set_xlabel("concurrent sessions (20 ms audio up, 1 fps JPEG, a turn every 2 s)")
    cpu.legend(fontsize=7, ncol=2)
    fig.suptitle(f"capacity on one core (vertical lines: within real time), {out['date']}, "
                 f"load {' '.join(out['loadavg_start'])}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
