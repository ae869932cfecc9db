"""A real Prometheus server (Debian's package) scraping a running Stack, for tests."""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from livebus_dev import procs
from livebus_dev.devstack import Stack
from livebus_dev.procs import Proc
from livebus_dev.testing.observe import targets

BINARY = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def scrape_config(stack: Stack, interval: str = "1s") -> dict[str, Any]:
    """One job per service, a `pod` label per instance (as the Kubernetes relabeling gives)."""
    jobs: dict[str, dict[str, Any]] = {}
    for t in targets(stack):
        job = jobs.setdefault(t.job, {"job_name": t.job, "static_configs": []})
        if t.https:
            job["scheme"] = "https"
            job["tls_config"] = {"ca_file": str(stack.ca_file.resolve())}
        job["static_configs"].append({"targets": [t.address], "labels": {"pod": t.pod}})
    return {"global": {"scrape_interval": interval, "scrape_timeout": interval,
                       "evaluation_interval": interval},
            "scrape_configs": list(jobs.values())}


class Prometheus:
    def __init__(self, stack: Stack, workdir: Path) -> None:
        self.port = procs.free_port()
        workdir.mkdir(parents=True, exist_ok=True)
        config = workdir / "prometheus.yml"
        config.write_text(yaml.safe_dump(scrape_config(stack)))
        self.proc = Proc("prometheus", [
            BINARY, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=1h",
            "--log.level=warn"], procs.child_env({}), workdir / "prometheus.log")
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> Prometheus:
        self.proc.start()
        procs.wait_http_ok(f"{self.url}/-/ready", proc=self.proc)
        return self

    def stop(self) -> None:
        self.proc.stop()  # by its PID

    def query(self, expr: str) -> list[dict[str, Any]]:
        r = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        body = r.json()
        assert r.status_code == 200 and body["status"] == "success", f"{expr}: {body}"
        return list(body["data"]["result"])

    def wait_for_targets(self, n: int, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            up = self.query("up == 1")
            if len(up) >= n:
                return
            time.sleep(0.25)
        raise TimeoutError(f"only {self.query('up == 1')} of {n} targets up")


def finite(result: list[dict[str, Any]]) -> list[float]:
    return [float(r["value"][1]) for r in result if not math.isnan(float(r["value"][1]))]
