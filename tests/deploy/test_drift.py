"""The manifests agree with the code: env names, ports, probe paths, drain times, entry points.

Everything on the code side is read from the services (settings classes, livebus.health), so
renaming a setting or a port in code without the manifests (or the reverse) fails here.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from livebus import health

from .manifests import (
    ROOT,
    SERVICES,
    Container,
    accepted_env,
    containers,
    effective,
    entry_module,
    find,
    main_settings,
    overlay,
)

# Settings fields naming the ports where each service serves its health routes.
PORT_FIELDS = {"gateway": ("http_port", "https_port", "health_port"),
               "gemini-emulator": ("port",), "webrtc-edge": ("https_port", "health_port")}
HOST_FIELDS = {"gateway": "host", "gemini-emulator": "host", "webrtc-edge": "host"}
HEALTH_PATHS = {r.path for r in health.routes(lambda: (True, "ok"))}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def livebus_containers(name: str) -> list[Container]:
    return [c for c in containers(overlay(name)) if c.service is not None]


def all_livebus_containers() -> list[tuple[str, Container]]:
    return [(o, c) for o in ("dev", "prod") for c in livebus_containers(o)]


IDS = [f"{o}-{c.spec['name']}" for o, c in all_livebus_containers()]


def test_every_service_is_deployed_from_its_own_image() -> None:
    dev = {c.service for c in livebus_containers("dev")}
    assert dev == set(SERVICES)
    assert {c.service for c in livebus_containers("prod")} == set(SERVICES) - {"gemini-emulator"}


@pytest.mark.parametrize(("name", "c"), all_livebus_containers(), ids=IDS)
def test_env_vars_are_read_by_the_service(name: str, c: Container) -> None:
    assert c.service is not None
    unknown = set(c.env()) - accepted_env(c.service)
    assert not unknown, f"{c.name} sets variables {c.service} never reads: {sorted(unknown)}"


@pytest.mark.parametrize(("name", "c"), all_livebus_containers(), ids=IDS)
def test_ports_and_probes_are_the_ones_served(name: str, c: Container) -> None:
    assert c.service is not None
    s = effective(main_settings(c.service), c.env_values())
    served = {int(getattr(s, f)) for f in PORT_FIELDS.get(c.service, ("health_port",))}
    assert set(c.ports().values()) <= served, f"{c.name}: ports {c.ports()} vs served {served}"
    host = str(getattr(s, HOST_FIELDS.get(c.service, "health_host")))
    assert host not in LOOPBACK, f"{c.name}: listens on {host}, the kubelet cannot reach it"
    probes = c.probes()
    assert {"livenessProbe", "readinessProbe"} <= set(probes)
    assert probes["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for p in probes.values():
        assert p["httpGet"]["path"] in HEALTH_PATHS
        assert c.port_number(p["httpGet"]["port"]) in served
    ann = c.workload["spec"]["template"]["metadata"].get("annotations", {})
    if ann.get("prometheus.io/scrape") == "true":
        assert int(ann["prometheus.io/port"]) in served
        assert ann["prometheus.io/path"] in HEALTH_PATHS


@pytest.mark.parametrize(("name", "c"), all_livebus_containers(), ids=IDS)
def test_grace_period_outlasts_every_drain_setting(name: str, c: Container) -> None:
    assert c.service is not None
    cls = main_settings(c.service)
    s = effective(cls, c.env_values())
    for f in cls.model_fields:
        if f.startswith("drain_") and f.endswith("_s"):
            budget = c.prestop_seconds() + float(getattr(s, f))
            assert c.grace_seconds() > budget, f"{c.name}: grace <= preStop + {f} ({budget})"


def test_bridge_grace_period_outlasts_its_drain_deadline() -> None:
    cls = main_settings("gemini-bridge")
    if "drain_deadline_s" not in cls.model_fields:
        pytest.skip("BridgeSettings has no drain_deadline_s yet (issue 5)")
    for name in ("dev", "prod"):
        (c,) = [c for c in livebus_containers(name) if c.service == "gemini-bridge"]
        deadline = float(effective(cls, c.env_values()).model_dump()["drain_deadline_s"])
        assert c.grace_seconds() > c.prestop_seconds() + deadline


@pytest.mark.parametrize("service", SERVICES)
def test_entry_point_module_exists_in_the_service(service: str) -> None:
    module = entry_module(service)
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, f"{module} is not importable"
    if spec.submodule_search_locations is not None:
        main = importlib.util.find_spec(f"{module}.__main__")
        assert main is not None, f"{module} has no __main__"
    # The image copies services/<service> only: the module must live there.
    assert Path(spec.origin).resolve().is_relative_to(ROOT / "services" / service)
    for _, c in all_livebus_containers():
        if c.service == service:
            assert "command" not in c.spec and "args" not in c.spec, c.name


def test_services_and_ingress_point_at_real_ports() -> None:
    for name in ("dev", "prod"):
        objs = overlay(name)
        for svc in (o for o in objs if o["kind"] == "Service"):
            sel = svc["spec"]["selector"]
            pods = [c for c in containers(objs)
                    if sel.items() <= c.workload["spec"]["template"]["metadata"]["labels"].items()]
            assert pods, f"Service {svc['metadata']['name']} selects no pod"
            for p in svc["spec"]["ports"]:
                assert all(p["targetPort"] in c.ports() for c in pods), (svc, p)
        ing = find(objs, "Ingress", "gateway")
        backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
        svc = find(objs, "Service", backend["name"])
        assert backend["port"]["name"] in {p["name"] for p in svc["spec"]["ports"]}
        ann = ing["metadata"]["annotations"]
        for key in ("proxy-read-timeout", "proxy-send-timeout"):
            assert int(ann[f"nginx.ingress.kubernetes.io/{key}"]) >= 3600


def test_podmonitor_scrapes_every_livebus_service() -> None:
    objs = overlay("prod")
    pm = find(objs, "PodMonitor", "livebus")
    sel = pm["spec"]["selector"]["matchLabels"]
    ports = {e["port"] for e in pm["spec"]["podMetricsEndpoints"]}
    for c in livebus_containers("prod"):
        labels = c.workload["spec"]["template"]["metadata"]["labels"]
        assert sel.items() <= labels.items(), c.name
        assert ports & set(c.ports()), f"{c.name}: no port named {ports}"


def test_bridge_autoscaler_targets_below_capacity() -> None:
    for name in ("dev", "prod"):
        objs = overlay(name)
        hpa = find(objs, "HorizontalPodAutoscaler", "gemini-bridge")
        (c,) = [c for c in livebus_containers(name) if c.service == "gemini-bridge"]
        bridge = effective(main_settings("gemini-bridge"), c.env_values())
        capacity = int(bridge.model_dump()["capacity"])
        pods = [m["pods"] for m in hpa["spec"]["metrics"] if m["type"] == "Pods"]
        assert pods[0]["metric"]["name"] == "livebus_bridge_active_sessions"
        assert 0 < float(pods[0]["target"]["averageValue"]) < capacity
        assert any(m["type"] == "Resource" for m in hpa["spec"]["metrics"])
        assert "replicas" not in find(objs, "Deployment", "gemini-bridge")["spec"]


def _number(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found, f"docs/deploy.md no longer says {pattern!r}"
    return int(found[1])


def test_admission_limits_are_what_the_deploy_doc_sizes_a_core_for() -> None:
    """Each gateway and bridge requests the one core its event loop can use, and admits what
    docs/deploy.md says that core carries within real time."""
    doc = (ROOT / "docs" / "deploy.md").read_text()
    gateway_max = _number(r"replicas, each admitting (\d+) sessions", doc)
    capacity = _number(r"`LIVEBUS_BRIDGE_CAPACITY=(\d+)`", doc)
    target = _number(r"\(target (\d+), with `LIVEBUS_BRIDGE_CAPACITY", doc)
    for name in ("dev", "prod"):
        by_service = {c.service: c for c in livebus_containers(name)}
        gateway, bridge = by_service["gateway"], by_service["gemini-bridge"]
        assert effective(main_settings("gateway"), gateway.env_values()).model_dump()[
            "max_sessions"] == gateway_max
        assert effective(main_settings("gemini-bridge"), bridge.env_values()).model_dump()[
            "capacity"] == capacity
        hpa = find(overlay(name), "HorizontalPodAutoscaler", "gemini-bridge")
        pods = [m["pods"] for m in hpa["spec"]["metrics"] if m["type"] == "Pods"]
        assert float(pods[0]["target"]["averageValue"]) == target
        for c in (gateway, bridge):
            assert str(c.spec["resources"]["requests"]["cpu"]) in ("1", "1000m"), c.name


def test_turn_option_adds_coturn_only() -> None:
    prod, turn = overlay("prod"), overlay("prod-turn")
    key = [(o["kind"], o["metadata"]["name"]) for o in prod]
    assert sorted([(o["kind"], o["metadata"]["name"]) for o in turn]) == sorted(
        [*key, ("Deployment", "coturn")])
    (c,) = [c for c in containers(turn) if c.spec["name"] == "coturn"]
    assert {p["protocol"] for p in c.spec["ports"]} == {"UDP", "TCP"}
    assert "--use-auth-secret" in c.spec["args"]


@pytest.mark.parametrize("name", ["dev", "prod", "prod-turn"])
def test_every_container_is_locked_down_and_sized(name: str) -> None:
    for c in containers(overlay(name)):
        sc = c.spec["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True, c.name
        assert sc["allowPrivilegeEscalation"] is False, c.name
        assert sc["capabilities"]["drop"] == ["ALL"], c.name
        assert sc.get("runAsNonRoot", c.pod.get("securityContext", {}).get("runAsNonRoot")), c.name
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(c.spec["resources"][kind]), c.name
        assert {"livenessProbe", "readinessProbe"} <= set(c.probes()), c.name
