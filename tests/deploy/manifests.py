"""Rendered Kubernetes manifests, Dockerfiles and service settings, read for the deploy tests."""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
BIN = Path(sys.executable).parent
KUBECTL = BIN / "kubectl"
HADOLINT = BIN / "hadolint"
OVERLAYS = ("dev", "prod")
# Every kustomization that must build: the overlays, the base alone, the adapter's rule.
KUSTOMIZATIONS = ("base", "overlays/dev", "overlays/prod", "overlays/prod-turn",
                  "prometheus-adapter")
SERVICES = ("gateway", "gemini-bridge", "gemini-emulator", "frame-sampler", "tools", "webrtc-edge")
IMAGE_PREFIX = "livebus/"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")

Obj = dict[str, Any]


@functools.cache
def render(path: str) -> tuple[Obj, ...]:
    """`kubectl kustomize deploy/k8s/<path>`, as parsed objects."""
    out = subprocess.run([str(KUBECTL), "kustomize", str(K8S / path)], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    return tuple(d for d in yaml.safe_load_all(out) if d)


def overlay(name: str) -> tuple[Obj, ...]:
    return render(f"overlays/{name}")


def find(objs: tuple[Obj, ...], kind: str, name: str) -> Obj:
    for o in objs:
        if o["kind"] == kind and o["metadata"]["name"] == name:
            return o
    raise KeyError(f"{kind}/{name} not rendered")


@dataclass
class Container:
    workload: Obj
    spec: Obj                    # the container

    @property
    def pod(self) -> Obj:
        return dict(self.workload["spec"]["template"]["spec"])

    @property
    def name(self) -> str:
        return f"{self.workload['kind']}/{self.workload['metadata']['name']}:{self.spec['name']}"

    @property
    def service(self) -> str | None:
        """services/<name> for livebus images, None for others (nats)."""
        image = str(self.spec["image"])
        if not image.startswith(IMAGE_PREFIX):
            return None
        return image[len(IMAGE_PREFIX):].split(":")[0].split("@")[0]

    def ports(self) -> dict[str, int]:
        return {p["name"]: int(p["containerPort"]) for p in self.spec.get("ports", [])}

    def port_number(self, port: int | str) -> int:
        return self.ports()[port] if isinstance(port, str) else int(port)

    def env(self) -> dict[str, Obj]:
        return {e["name"]: e for e in self.spec.get("env", [])}

    def env_values(self) -> dict[str, str]:
        return {n: str(e["value"]) for n, e in self.env().items() if "value" in e}

    def probes(self) -> dict[str, Obj]:
        return {k: self.spec[k] for k in ("startupProbe", "livenessProbe", "readinessProbe")
                if k in self.spec}

    def prestop_seconds(self) -> float:
        pre = self.spec.get("lifecycle", {}).get("preStop", {})
        return float(pre.get("sleep", {}).get("seconds", 0))

    def grace_seconds(self) -> float:
        return float(self.pod.get("terminationGracePeriodSeconds", 30))


def containers(objs: tuple[Obj, ...]) -> Iterator[Container]:
    for o in objs:
        if o["kind"] in WORKLOAD_KINDS:
            for c in o["spec"]["template"]["spec"]["containers"]:
                yield Container(o, c)


# --- Dockerfiles ---------------------------------------------------------------------------

@dataclass
class Stage:
    base: str
    name: str | None
    workdir: str = "/"
    copies: list[tuple[list[str], str]] = field(default_factory=list)  # (sources, dest)
    copies_from: list[str] = field(default_factory=list)               # COPY --from=stage
    runs: list[str] = field(default_factory=list)
    user: str | None = None
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)


def dockerfile_path(service: str) -> Path:
    return ROOT / "services" / service / "Dockerfile"


@functools.cache
def dockerfile(service: str) -> tuple[Stage, ...]:
    """The stages of services/<service>/Dockerfile (enough of the syntax for our files)."""
    text = dockerfile_path(service).read_text()
    lines: list[str] = []
    buf = ""
    for raw in text.splitlines():
        if raw.lstrip().startswith("#") and not buf:
            continue
        if raw.rstrip().endswith("\\"):
            buf += raw.rstrip()[:-1] + " "
            continue
        line = (buf + raw).strip()
        buf = ""
        if line:
            lines.append(line)
    stages: list[Stage] = []
    for line in lines:
        op, _, rest = line.partition(" ")
        op = op.upper()
        if op == "FROM":
            words = rest.split()
            stages.append(Stage(words[0], words[2] if len(words) > 2 else None))
            continue
        st = stages[-1]
        if op == "WORKDIR":
            st.workdir = rest.strip()
        elif op == "COPY":
            words = shlex.split(rest)
            flags = [w for w in words if w.startswith("--")]
            args = [w for w in words if not w.startswith("--")]
            if any(f.startswith("--from=") for f in flags):
                st.copies_from.append(args[0])
            else:
                st.copies.append((args[:-1], args[-1]))
        elif op == "RUN":
            st.runs.append(rest)
        elif op == "USER":
            st.user = rest.strip()
        elif op in ("ENTRYPOINT", "CMD"):
            value = json.loads(rest) if rest.startswith("[") else ["/bin/sh", "-c", rest]
            if op == "ENTRYPOINT":
                st.entrypoint = value
            else:
                st.cmd = value
    return tuple(stages)


def entry_module(service: str) -> str:
    """The module the image runs: ENTRYPOINT ["python", "-m", MODULE]."""
    argv = dockerfile(service)[-1].entrypoint
    assert argv[:2] == ["python", "-m"] and len(argv) == 3, f"{service}: ENTRYPOINT {argv}"
    return argv[2]


# --- settings read from the code -------------------------------------------------------------

def settings_classes(service: str) -> list[type[BaseSettings]]:
    """The pydantic-settings classes defined in <package>.settings of the service's image."""
    package = entry_module(service).split(".")[0]
    mod = importlib.import_module(f"{package}.settings")
    found = [c for _, c in inspect.getmembers(mod, inspect.isclass)
             if issubclass(c, BaseSettings) and c.__module__ == mod.__name__]
    assert found, f"{mod.__name__} defines no settings class"
    return found


def env_names(cls: type[BaseSettings]) -> set[str]:
    """Environment variables a settings class reads: env_prefix + field name (or alias)."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    names = set()
    for name, f in cls.model_fields.items():
        alias = f.validation_alias if isinstance(f.validation_alias, str) else f.alias
        names.add((alias or prefix + name).upper())
    return names


def accepted_env(service: str) -> set[str]:
    return set().union(*(env_names(c) for c in settings_classes(service)))


def main_settings(service: str) -> type[BaseSettings]:
    """The class with the service's own LIVEBUS_* prefix."""
    for c in settings_classes(service):
        if str(c.model_config.get("env_prefix", "")).startswith("LIVEBUS_"):
            return c
    raise AssertionError(f"{service}: no LIVEBUS_* settings class")


def effective(cls: type[BaseSettings], env: dict[str, str]) -> BaseSettings:
    """The settings the service would read with exactly `env` (the manifest's plain values)."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    values = {k[len(prefix):].lower(): v for k, v in env.items() if k.startswith(prefix)}
    return cls.model_validate({k: v for k, v in values.items() if k in cls.model_fields})
