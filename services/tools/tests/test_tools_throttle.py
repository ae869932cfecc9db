from __future__ import annotations

from livebus_tools.throttle import MAX_KEYS, LogThrottle


def test_once_per_interval_per_key_then_the_count_left_out() -> None:
    t = LogThrottle(60.0)
    assert t.allow("a", now=0.0) == 0
    assert [t.allow("a", now=float(s)) for s in range(1, 5)] == [None] * 4
    assert t.allow("b", now=1.0) == 0  # another kind has its own line
    assert t.allow("a", now=61.0) == 4


def test_many_keys_do_not_grow_it() -> None:
    t = LogThrottle(60.0)
    for i in range(MAX_KEYS * 3):
        t.allow(str(i), now=0.0)
    assert len(t._next) <= MAX_KEYS
