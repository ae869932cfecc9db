"""Docs that are checked against the code: settings and metrics."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_configuration_doc_is_current() -> None:
    render = runpy.run_path(str(ROOT / "scripts" / "settings_doc.py"))["render"]
    assert (ROOT / "docs" / "configuration.md").read_text() == render(), "run `make docs`"


def test_every_metric_is_documented() -> None:
    """docs/metrics.md names every metric a service registers (sections give the prefix)."""
    doc = (ROOT / "docs" / "metrics.md").read_text()
    sources = [*ROOT.glob("services/*/livebus_*/metrics.py"), ROOT / "libs/livebus/livebus/bus.py"]
    names = {m for src in sources for m in re.findall(r'"(livebus_[a-z_]+)"', src.read_text())}
    assert len(names) > 40
    prefix = re.compile(r"^livebus_(gateway|bridge|sampler|tools|emulator)_")
    missing = [n for n in sorted(names) if n not in doc and prefix.sub("", n) not in doc]
    assert not missing, f"undocumented metrics: {missing}"
