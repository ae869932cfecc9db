"""The web page's JavaScript: its Node unit tests (tests/js/*.test.mjs), run by `node --test`.

The page's pure modules (settings, transcript, latency, stats, format, keys, preroll, live's
message parsing and reconnect policy, b64, camera sizes) are imported straight from static/,
with no build step; browser-only modules stay out of them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent
STATIC = HERE.parent / "livebus_gateway" / "static"
JS_TESTS = HERE / "js"
MAX_MODULE_LINES = 300
# Node detects ES module syntax in a .js file with no package.json from 20.19 on.
MIN_NODE = (20, 19)


def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.fail("node (20.19 or later) is needed for the page's unit tests")
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=True).stdout
    m = re.match(r"v(\d+)\.(\d+)", out)
    assert m and (int(m[1]), int(m[2])) >= MIN_NODE, f"node {out.strip()} is too old"
    return path


def test_the_pages_unit_tests_pass_in_node() -> None:
    files = sorted(JS_TESTS.glob("*.test.mjs"))
    assert len(files) >= 8, files
    r = subprocess.run([node(), "--test", *map(str, files)], capture_output=True, text=True,
                       timeout=60, cwd=HERE)
    summary = dict(re.findall(r"^# (tests|pass|fail) (\d+)$", r.stdout, re.M))
    assert r.returncode == 0 and summary.get("fail") == "0", r.stdout[-6000:] + r.stderr[-2000:]
    assert int(summary["tests"]) >= 40, summary


def test_no_page_module_is_over_300_lines() -> None:
    sizes = {p.name: len(p.read_text().splitlines()) for p in STATIC.rglob("*.js")}
    assert sizes and all(n <= MAX_MODULE_LINES for n in sizes.values()), sizes
