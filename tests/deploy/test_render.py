"""Every kustomization builds, and every object it renders is valid Kubernetes 1.31 (strict)."""

from __future__ import annotations

import copy
import os
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from livebus_dev import procs

from .manifests import KUSTOMIZATIONS, ROOT, containers, find, overlay, render

K8S_VERSION = "1.31"
# Custom resources kubernetes-validate has no schema for: skipped by name, nothing else is.
CRD_KINDS = {("monitoring.coreos.com/v1", "PodMonitor")}


def validate(obj: dict[str, object]) -> None:
    kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


@pytest.mark.parametrize("path", KUSTOMIZATIONS)
def test_every_rendered_object_is_valid(path: str) -> None:
    objs = render(path)
    assert objs
    for obj in objs:
        if (obj["apiVersion"], obj["kind"]) in CRD_KINDS:
            with pytest.raises(kubernetes_validate.SchemaNotFoundError):
                validate(obj)
            continue
        validate(obj)


def test_strict_validation_catches_an_unknown_field() -> None:
    # The check above is only worth something if a typo fails it.
    gateway = copy.deepcopy(find(overlay("prod"), "Deployment", "gateway"))
    gateway["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(gateway)


def test_overlays_differ_only_where_they_should() -> None:
    dev, prod = overlay("dev"), overlay("prod")
    assert find(dev, "StatefulSet", "nats")["spec"]["replicas"] == 1
    assert find(prod, "StatefulSet", "nats")["spec"]["replicas"] == 3
    assert any(c.service == "gemini-emulator" for c in containers(dev))
    assert not any(c.service == "gemini-emulator" for c in containers(prod))
    assert {o["metadata"].get("namespace") for o in prod if o["kind"] != "Namespace"} == {"livebus"}


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_secrets_only_by_reference(name: str) -> None:
    objs = overlay(name)
    assert not [o for o in objs if o["kind"] == "Secret"], "Secrets are created with kubectl"
    for c in containers(objs):
        for var, e in c.env().items():
            words = set(var.split("_"))
            if words & {"KEY", "KEYS", "SECRET", "TOKEN", "PASSWORD"} and "FILE" not in words:
                assert "secretKeyRef" in e.get("valueFrom", {}), f"{c.name}: {var} inline"


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_nats_config_is_accepted_by_nats_server(name: str, tmp_path: Path) -> None:
    objs = overlay(name)
    sts = find(objs, "StatefulSet", "nats")
    volumes = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
    cm = find(objs, "ConfigMap", volumes["config"]["configMap"]["name"])
    for fname, text in cm["data"].items():
        (tmp_path / fname).write_text(text)
    routes = cm["data"]["cluster.conf"].count("nats://")
    assert routes == (sts["spec"]["replicas"] if sts["spec"]["replicas"] > 1 else 0)
    env = {**os.environ, "SERVER_NAME": "nats-0"}
    r = subprocess.run([procs.find_nats_server(), "-t", "-c", str(tmp_path / "nats.conf")],
                       capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_dashboard_is_provisioned() -> None:
    grafana = ROOT / "deploy" / "grafana"
    gen = yaml.safe_load((grafana / "kustomization.yaml").read_text())["configMapGenerator"]
    listed = {f.split("=")[-1] for g in gen for f in g["files"]}
    assert listed == {p.name for p in grafana.glob("*.json")}
    cm = find(overlay("prod"), "ConfigMap", "livebus-dashboards")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
