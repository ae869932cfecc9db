"""Run the conformance scripts: `npm ci` from the committed lockfile once, then node per case."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import MODEL

HERE = Path(__file__).resolve().parent
SDK = "@google/genai"
# Credentials an SDK would pick up from the environment instead of the key it is given.
_SCRUB = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GENAI_API_KEY", "GOOGLE_GENAI_ACCESS_TOKEN",
          "GOOGLE_CLOUD_PROJECT", "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_APPLICATION_CREDENTIALS")


def pinned_version() -> str:
    manifest = json.loads((HERE / "package.json").read_text())
    return str(manifest["dependencies"][SDK])


def installed_version() -> str | None:
    path = HERE / "node_modules" / SDK / "package.json"
    if not path.exists():
        return None
    return str(json.loads(path.read_text())["version"])


def ensure_installed() -> str:
    """`npm ci` when node_modules lacks the pinned SDK; one process at a time (a file lock)."""
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        raise RuntimeError("node and npm are needed for tests/compat (Node >= 20)")
    with (HERE / ".npm-ci.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed_version() != pinned_version():
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True,
                           timeout=300, capture_output=True)
    version = installed_version()
    assert version == pinned_version(), f"installed {version}, pinned {pinned_version()}"
    return version


@dataclass
class Run:
    """What one script printed: its JSON-line events, in order."""

    returncode: int
    events: list[dict[str, Any]]
    stderr: str
    by_name: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for e in self.events:
            self.by_name.setdefault(str(e["ev"]), []).append(e)

    def one(self, name: str) -> dict[str, Any]:
        found = self.by_name.get(name, [])
        assert len(found) == 1, f"expected one {name!r} event; got {self.events}\n{self.stderr}"
        return found[0]

    def ok(self) -> Run:
        assert self.returncode == 0 and "done" in self.by_name, \
            f"script failed: {self.by_name.get('error')}\n{self.events}\n{self.stderr}"
        return self


def node_env(stack: Stack, api_key: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update({
        "LIVEBUS_BASE_URL": stack.gateway_https(),
        "LIVEBUS_API_KEY": api_key or stack.api_key,
        "LIVEBUS_MODEL": MODEL,
        "NODE_EXTRA_CA_CERTS": str(stack.ca_file),  # the dev CA, for ws and fetch alike
    })
    return env


async def run_script(stack: Stack, script: str, *args: str, timeout: float = 90) -> Run:
    node = shutil.which("node")
    assert node is not None
    proc = await asyncio.create_subprocess_exec(
        node, str(HERE / script), *args, cwd=HERE, env=node_env(stack),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    events = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    return Run(proc.returncode or 0, events, err.decode(errors="replace"))
