"""Every service: health routes, metrics without per-session labels, JSON logs with session ids."""

from __future__ import annotations

import json
import re
from collections import defaultdict

import httpx

from livebus import tls
from livebus_dev.devstack import Stack
from livebus_dev.testing.observe import scrape, targets

from .conftest import Scenario

SERVICES = {"gateway", "gemini-bridge", "frame-sampler", "tools", "gemini-emulator"}
# A session id (uuid4 hex, or any long hex/uuid-looking token), a token, an address with a port.
SESSION_LIKE = re.compile(r"^[0-9a-f]{16,}$|^[0-9a-f]{8}-[0-9a-f]{4}-|^auth_tokens/|:\d{4,5}$",
                          re.IGNORECASE)
MAX_SERIES_PER_METRIC = 40  # histograms count once per label set (le excluded)
MAX_VALUES_PER_LABEL = 25


async def test_every_service_serves_health_and_metrics(obs_stack: Stack) -> None:
    found = {t.job for t in targets(obs_stack)}
    assert found == SERVICES
    async with httpx.AsyncClient(verify=tls.client_context(obs_stack.ca_file), timeout=5) as c:
        for t in targets(obs_stack):
            assert (await c.get(f"{t.url}/livez")).status_code == 200, t
            ready = await c.get(f"{t.url}/readyz")
            assert ready.status_code == 200 and ready.json()["ready"] is True, t
            metrics = await c.get(f"{t.url}/metrics")
            assert metrics.status_code == 200 and "livebus_" in metrics.text, t


async def test_no_per_session_labels_and_bounded_cardinality(obs_stack: Stack,
                                                             scenario: Scenario) -> None:
    scraped = await scrape(obs_stack)
    assert {t.job for t in scraped} == SERVICES
    bad: list[str] = []
    for target, samples in scraped.items():
        series: dict[str, set[tuple[tuple[str, str], ...]]] = defaultdict(set)
        values: dict[tuple[str, str], set[str]] = defaultdict(set)
        for name, labels in samples:
            base = re.sub(r"_(bucket|count|sum|created|total)$", "", name)
            kept = tuple((k, v) for k, v in labels if k not in ("le", "quantile"))
            series[base].add(kept)
            for k, v in kept:
                values[(base, k)].add(v)
                if v in scenario.session_ids or SESSION_LIKE.search(v):
                    bad.append(f"{target.pod}: {name}{{{k}={v!r}}} looks per-session")
        for base, sets in series.items():
            if len(sets) > MAX_SERIES_PER_METRIC:
                bad.append(f"{target.pod}: {base} has {len(sets)} series")
        for (base, k), vs in values.items():
            if len(vs) > MAX_VALUES_PER_LABEL:
                bad.append(f"{target.pod}: {base}{{{k}}} has {len(vs)} values")
    assert not bad, "\n".join(bad)


def test_logs_are_json_lines_with_the_session_id(obs_stack: Stack, scenario: Scenario) -> None:
    logs = obs_stack.cfg.dir / "logs"
    with_session: dict[str, int] = defaultdict(int)
    for name in ("gateway-0", "gemini-bridge-0"):
        for line in (logs / f"{name}.log").read_text().splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)  # every line is one JSON object
            assert {"ts", "level", "service", "msg"} <= set(entry), line
            if entry.get("session_id") in scenario.session_ids:
                with_session[name] += 1
    assert with_session["gateway-0"] > 0 and with_session["gemini-bridge-0"] > 0, with_session
