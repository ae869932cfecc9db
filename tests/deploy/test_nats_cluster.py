"""The services know every node of the production NATS cluster, and NATS leaves in lame duck."""

from __future__ import annotations

from .manifests import containers, find, overlay

PODS = [f"nats://nats-{i}.nats-headless:4222" for i in range(3)]


def test_prod_services_are_given_every_nats_node() -> None:
    objs = overlay("prod")
    replicas = find(objs, "StatefulSet", "nats")["spec"]["replicas"]
    checked = set()
    for c in containers(objs):
        urls = {k: v for k, v in c.env_values().items() if k.endswith("_NATS_URL")}
        for var, value in urls.items():
            assert value.split(",") == PODS[:replicas], f"{c.name}: {var}"
            checked.add(c.service)
    assert {"gateway", "gemini-bridge", "tools", "frame-sampler"} <= checked


def test_nats_moves_clients_away_before_it_stops() -> None:
    for name in ("dev", "prod"):
        sts = find(overlay(name), "StatefulSet", "nats")
        spec = sts["spec"]["template"]["spec"]
        pre = spec["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
        assert pre[:3] == ["nats-server", "--signal", "ldm=/var/run/nats/nats.pid"]
        assert spec["terminationGracePeriodSeconds"] > 40  # lame duck 30 s + grace 10 s
