"""Each service's Dockerfile: hadolint-clean, pinned, multi-stage, non-root, only its own code."""

from __future__ import annotations

import re
import subprocess

import pytest

from .manifests import HADOLINT, SERVICES, dockerfile, dockerfile_path

PINNED_PYTHON = re.compile(r"^python:3\.11\.\d+-slim-\w+$")


@pytest.mark.parametrize("service", SERVICES)
def test_hadolint_passes(service: str) -> None:
    r = subprocess.run([str(HADOLINT), "--no-color", str(dockerfile_path(service))],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_hadolint_flags_a_bad_dockerfile() -> None:
    # Proof that the linter runs and fails: unpinned base, apt-get without versions.
    r = subprocess.run([str(HADOLINT), "--no-color", "-"], capture_output=True, text=True,
                       input="FROM python\nRUN apt-get update && apt-get install -y curl\n",
                       timeout=60)
    assert r.returncode != 0 and "DL3006" in r.stdout


@pytest.mark.parametrize("service", SERVICES)
def test_image_layout(service: str) -> None:
    builder, runtime = dockerfile(service)
    assert PINNED_PYTHON.match(builder.base) and runtime.base == builder.base
    # Only constraints, the shared library and this service, at the paths they have here.
    sources = sorted(s for srcs, _ in builder.copies for s in srcs)
    assert sources == ["constraints.txt", "libs/livebus", f"services/{service}"]
    assert all(srcs == [dest] for srcs, dest in builder.copies)
    assert builder.workdir == "/src"
    # The runtime gets the venv only, and runs as a numeric non-root user.
    assert runtime.copies == [] and runtime.copies_from == ["/opt/venv"] and not runtime.runs
    assert runtime.user is not None
    uid = runtime.user.split(":")[0]
    assert uid.isdigit() and int(uid) > 0
