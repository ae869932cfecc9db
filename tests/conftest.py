from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import running_stack

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """NATS, the emulator, one bridge and one gateway as real processes, for one test module."""
    with running_stack(tmp_path_factory.mktemp("stack")) as s:
        yield s
