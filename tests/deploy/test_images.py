"""Each image's entry point starts its service, installed the way its Dockerfile installs it.

No Docker here: the builder stage's COPY and RUN lines are replayed into a temp dir and a fresh
virtualenv (pip's cache is kept, --no-cache-dir dropped, for speed), then the service is started
with the environment its dev-overlay container gets (secrets and paths replaced by test files,
ports by free ones) against a real nats-server, and its readiness probe must answer 200.

By default only gemini-bridge runs (about 30 s); LIVEBUS_TEST_IMAGES=all runs every service.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest

from livebus import subjects, tls
from livebus_dev import devca, procs

from .manifests import ROOT, SERVICES, Container, containers, dockerfile, overlay

DEFAULT = ("gemini-bridge",)
SELECTED = SERVICES if os.environ.get("LIVEBUS_TEST_IMAGES") == "all" else DEFAULT
IGNORED = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "tests")
VENV_IN_IMAGE = "/opt/venv"


def install_like_dockerfile(service: str, work: Path) -> Path:
    """Replay the builder stage in `work`; returns the venv's bin directory."""
    builder = dockerfile(service)[0]
    src = work / "src"
    src.mkdir()
    for sources, dest in builder.copies:
        for s in sources:
            target = src / dest
            if (ROOT / s).is_dir():
                shutil.copytree(ROOT / s, target, ignore=IGNORED)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(ROOT / s, target)
    venv = work / "venv"
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PIP_NO_CACHE_DIR")}
    for run in builder.runs:
        argv = [w.replace(VENV_IN_IMAGE, str(venv)) for w in shlex.split(run)
                if w != "--no-cache-dir"]
        if argv[0] == "python":
            argv[0] = sys.executable
        r = subprocess.run(argv, cwd=src, env=env, capture_output=True, text=True, timeout=400)
        assert r.returncode == 0, f"{run}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return venv / "bin"


def container_env(c: Container, nats_url: str, files: dict[str, Path]) -> tuple[dict[str, str],
                                                                                 dict[int, int]]:
    """The container's env made runnable here, and the port map (manifest -> free port)."""
    env: dict[str, str] = {}
    ports: dict[int, int] = {}
    for name, e in c.env().items():
        if "valueFrom" in e:
            src = e["valueFrom"]
            if "secretKeyRef" in src:
                env[name] = "test-secret-value"
            elif src.get("fieldRef", {}).get("fieldPath") == "status.podIP":
                env[name] = "127.0.0.1"
            else:
                env[name] = "test-pod-0"
            continue
        value = str(e["value"])
        if value.startswith("nats://"):
            value = nats_url
        elif value == "0.0.0.0":
            value = "127.0.0.1"
        elif name.endswith("_PORT"):
            ports[int(value)] = procs.free_port()
            value = str(ports[int(value)])
        elif value.startswith("/etc/livebus/"):
            value = str(files[Path(value).name])
        elif value.startswith("/tmp/"):
            value = str(files["tmp"] / Path(value).name)
        env[name] = value
    return env, ports


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = procs.free_port()
    server = procs.nats_server(port, tmp_path_factory.mktemp("nats")).start()
    try:
        procs.wait_tcp(port)
        yield f"nats://127.0.0.1:{port}"
    finally:
        server.stop()


@contextlib.contextmanager
def bridge_heartbeat(nats_url: str) -> Iterator[None]:
    """A bridge's heartbeat on the bus: a gateway is ready only while it hears one."""
    stop = threading.Event()

    async def beat() -> None:
        nc = await nats.connect(nats_url)
        try:
            while not stop.is_set():
                await nc.publish(subjects.bridge_alive("image-test"), b"")
                await asyncio.sleep(0.1)
        finally:
            await nc.close()

    t = threading.Thread(target=asyncio.run, args=(beat(),), daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join(5)


@pytest.mark.slow
@pytest.mark.parametrize("service", SELECTED)
def test_image_entry_point_starts_the_service(service: str, nats_url: str,
                                              tmp_path: Path) -> None:
    bin_dir = install_like_dockerfile(service, tmp_path)
    (c,) = [c for c in containers(overlay("dev")) if c.service == service]
    certs = devca.ensure_dev_certs(tmp_path / "certs")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    files = {"tls.crt": certs.cert, "tls.key": certs.key, "ca.crt": certs.ca,
             "tmp": tmp_path / "tmp"}
    files["tmp"].mkdir()
    for name in ("api-keys", "token-secret"):
        files[name] = secrets / name
        files[name].write_text("test-secret-value\n")
    env, ports = container_env(c, nats_url, files)
    entry = dockerfile(service)[-1].entrypoint
    argv = [str(bin_dir / entry[0]), *entry[1:]]
    clean = {"PATH": f"{bin_dir}:/usr/bin:/bin", "PYTHONUNBUFFERED": "1",
             "HOME": str(tmp_path), **env}
    proc = procs.Proc(service, argv, clean, tmp_path / f"{service}.log")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    cwd = Path.cwd()
    os.chdir(run_dir)   # nothing from the repository on sys.path
    try:
        proc.start()
    finally:
        os.chdir(cwd)
    try:
        probe = c.probes()["readinessProbe"]["httpGet"]
        port = ports[c.port_number(probe["port"])]
        scheme = probe.get("scheme", "HTTP").lower()
        ctx = tls.client_context(certs.ca) if scheme == "https" else None
        url = f"{scheme}://127.0.0.1:{port}"
        # A client edge is ready only while it hears a bridge.
        edge = service in ("gateway", "webrtc-edge")
        with bridge_heartbeat(nats_url) if edge else contextlib.nullcontext():
            procs.wait_http_ok(f"{url}{probe['path']}", timeout=30, proc=proc, context=ctx)
        with urllib.request.urlopen(f"{url}/livez", timeout=5, context=ctx) as r:
            assert r.status == 200
        # The image holds nothing of the repository: the module comes from the fresh venv.
        assert_module_from(bin_dir, entry[2])
        assert_no_harness_installed(bin_dir)
        started = time.monotonic()
        assert proc.stop(timeout=15) == 0
        assert time.monotonic() - started < c.grace_seconds()
    finally:
        proc.kill()
        log = tmp_path / f"{service}.log"
        if log.exists():
            print(log.read_text()[-4000:])


def assert_module_from(bin_dir: Path, module: str) -> None:
    r = subprocess.run([str(bin_dir / "python"), "-c",
                        f"import importlib.util as u; print(u.find_spec({module!r}).origin)"],
                       capture_output=True, text=True, timeout=30, cwd="/")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith(str(bin_dir.parent)), r.stdout


# --- no dev harness in any image -------------------------------------------------------------

HARNESS_IMPORTS = ("livebus_dev", "livebus.devstack", "livebus.testing", "livebus.procs")
HARNESS_FILES = ("devstack.py", "procs.py", "supervisor.py", "devca.py", "testing")


def pip_installs(run: str) -> list[tuple[str, list[str]]]:
    """(local path, extras) for each `pip install ./path[extra]` argument of a RUN line."""
    words = shlex.split(run)
    if "pip" not in Path(words[0]).name or "install" not in words:
        return []
    out = []
    for w in words[words.index("install") + 1:]:
        if w.startswith("./"):
            path, _, extras = w[2:].partition("[")
            out.append((path.rstrip("/"), [e for e in extras.rstrip("]").split(",") if e]))
    return out


def top_level_imports(source: Path) -> set[str]:
    """Modules a file imports when it is imported (not inside functions)."""
    tree = ast.parse(source.read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_image_installs_no_dev_harness(service: str) -> None:
    """What the Dockerfile copies and installs holds no dev stack, process helpers, test
    fixtures or dev CA (those are libs/livebus-dev, for the venv of `make` only)."""
    builder = dockerfile(service)[0]
    copied = [s for sources, _ in builder.copies for s in sources]
    assert not [s for s in copied if "livebus-dev" in s or "livebus_dev" in s]
    installs = [i for run in builder.runs for i in pip_installs(run)]
    assert {p for p, _ in installs} == {"libs/livebus", f"services/{service}"}
    for path, extras in installs:
        project = tomllib.loads((ROOT / path / "pyproject.toml").read_text())["project"]
        deps = [*project["dependencies"],
                *(d for e in extras for d in project.get("optional-dependencies", {})[e])]
        names = {re.split(r"[\[=<>~! ;]", d, maxsplit=1)[0].lower() for d in deps}
        assert "livebus-dev" not in names, f"{path} depends on livebus-dev"
        for py in (ROOT / path).rglob("*.py"):
            rel = py.relative_to(ROOT / path)
            if rel.parts[0] in ("tests", "build"):
                continue
            assert not set(rel.parts) & set(HARNESS_FILES), f"{path}/{rel} is dev harness"
            bad = [m for m in top_level_imports(py) if m.startswith(HARNESS_IMPORTS)]
            assert not bad, f"{path}/{rel} imports {bad}"


def test_the_harness_check_sees_the_dev_package() -> None:
    """The check above can fail: the dev package itself is what it looks for."""
    dev = ROOT / "libs" / "livebus-dev" / "livebus_dev"
    assert {p.name for p in dev.iterdir()} >= set(HARNESS_FILES)
    assert any(m.startswith(HARNESS_IMPORTS) for m in top_level_imports(dev / "testing"
                                                                          / "stack.py"))
    assert pip_installs('/opt/venv/bin/pip install -c c.txt "./libs/livebus[fast]" ./x') == [
        ("libs/livebus", ["fast"]), ("x", [])]


def assert_no_harness_installed(bin_dir: Path) -> None:
    probe = ("import importlib.util as u, sys\n"
             f"for m in {HARNESS_IMPORTS!r}:\n"
             "    try:\n        found = u.find_spec(m)\n    except ModuleNotFoundError:\n"
             "        found = None\n    print(m, found is not None)\n")
    r = subprocess.run([str(bin_dir / "python"), "-c", probe], capture_output=True, text=True,
                       timeout=30, cwd="/")
    assert r.returncode == 0, r.stderr
    assert "True" not in r.stdout, f"dev harness installed in the image's venv:\n{r.stdout}"
