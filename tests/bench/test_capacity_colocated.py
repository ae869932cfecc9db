"""bench/capacity_colocated.py's in-memory delivery: which of this process's subscriptions a
publish reaches, as NATS would pick them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, cast

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from capacity_colocated import Registry  # noqa: E402


def sub(name: str) -> Any:
    return cast(Any, name)


def test_wildcards_match_as_in_nats() -> None:
    reg = Registry()
    reg.add(sub("one"), "livebus.up.s1.*", "")
    reg.add(sub("rest"), "livebus.>", "")
    reg.add(sub("exact"), "livebus.up.s1.ctl", "")
    assert sorted(reg.targets("livebus.up.s1.ctl")) == ["exact", "one", "rest"]
    assert reg.targets("livebus.up.s1.audio1") == ["one", "rest"]
    assert reg.targets("livebus.up.s1.audio1.x") == ["rest"]
    assert reg.targets("livebus") == []
    assert reg.targets("other.up.s1.ctl") == []


def test_a_queue_group_gets_one_copy_and_removal_is_seen() -> None:
    reg = Registry()
    reg.add(sub("a"), "livebus.bridge.open", "bridges")
    reg.add(sub("b"), "livebus.bridge.open", "bridges")
    reg.add(sub("tap"), "livebus.bridge.open", "")
    for _ in range(20):
        got = reg.targets("livebus.bridge.open")
        assert len(got) == 2 and "tap" in got and ({"a", "b"} & set(got))
    reg.remove(sub("tap"))
    assert len(reg.targets("livebus.bridge.open")) == 1
