"""docs/configuration.md lists every setting every service reads (it is generated)."""

from __future__ import annotations

import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_configuration_doc_is_current() -> None:
    render = runpy.run_path(str(ROOT / "scripts" / "settings_doc.py"))["render"]
    assert (ROOT / "docs" / "configuration.md").read_text() == render(), "run `make docs`"
