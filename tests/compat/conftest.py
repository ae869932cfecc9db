"""The pinned @google/genai, installed from the committed lockfile once per test session."""

from __future__ import annotations

import pytest

from .node import ensure_installed


@pytest.fixture(scope="session", autouse=True)
def js_sdk() -> str:
    """The installed SDK version (`npm ci` first when node_modules is missing or stale)."""
    return ensure_installed()
