"""Every Grafana panel's query returns data from a real Prometheus scraping the real stack."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from .conftest import Scenario
from .prometheus import Prometheus, finite

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
RATE_INTERVAL = "1m"  # the whole scenario, at a 1 s scrape interval


def dashboards() -> list[Path]:
    return sorted(GRAFANA.glob("*.json"))


def queries(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title / refId, expression) with template variables substituted."""
    values = {"__rate_interval": RATE_INTERVAL, "__interval": "1s"}
    for var in board.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            values[var["name"]] = var.get("allValue") or ".*"
        elif var.get("type") in ("textbox", "constant", "custom"):  # e.g. the price table
            values[var["name"]] = str(var["query"])
    out = []
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            expr = re.sub(r"\$\{?(\w+)\}?", lambda m: values[m.group(1)], target["expr"])
            out.append((f"{panel['title']} / {target['refId']}", expr))
    return out


def test_every_dashboard_is_provisionable() -> None:
    uids = set()
    for path in dashboards():
        board = json.loads(path.read_text())
        assert board["uid"] not in uids and board["title"] and board["panels"]
        uids.add(board["uid"])
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids"
        for p in board["panels"]:
            assert p["targets"], f"{path.name}: panel {p['title']!r} has no query"
            assert p["datasource"]["uid"] == "${datasource}"
    assert len(uids) >= 2


@pytest.mark.parametrize("path", dashboards(), ids=lambda p: p.name)
def test_every_panel_query_returns_data(path: Path, scenario: Scenario,
                                        prometheus: Prometheus) -> None:
    board = json.loads(path.read_text())
    empty, nan = [], []
    for where, expr in queries(board):
        result = prometheus.query(expr)
        if not result:
            empty.append(f"{where}: {expr}")
        elif not finite(result):
            nan.append(f"{where}: {expr}")
    assert not empty, "queries with no data:\n" + "\n".join(empty)
    assert not nan, "queries with only NaN:\n" + "\n".join(nan)


def test_ttfab_and_its_parts_are_in_prometheus(scenario: Scenario,
                                               prometheus: Prometheus) -> None:
    def total(expr: str) -> float:
        return sum(finite(prometheus.query(expr)))

    assert total('sum(livebus_gateway_ttfab_seconds_count{start="speech"})') >= 2
    assert total('sum(livebus_gateway_ttfab_seconds_count{start="explicit"})') >= 2
    # Every TTFAB at the gateway had its upstream part carried back from the bridge.
    assert total("sum(livebus_gateway_ttfab_pipeline_seconds_count)") == total(
        "sum(livebus_gateway_ttfab_seconds_count)")
    assert total('sum(livebus_bridge_reconnects_total{cause="goaway"})') >= 1
    assert total("sum(livebus_bridge_video_up_bytes_total)") > 0
    assert total('sum(livebus_bridge_tokens_total{direction="prompt", modality="audio"})') > 0
    assert total('sum(livebus_bridge_tokens_total{direction="prompt", modality="image"})') > 0
    assert total("sum(livebus_bridge_video_age_seconds_count)") > 0
    assert total('sum(livebus_sampler_hop_seconds_count{hop="gateway_sampler"})') > 0
