from __future__ import annotations

import pytest

from livebus_tools import Registry, tool


def test_names_that_are_not_one_subject_token_are_refused() -> None:
    for name in ("a.b", "a*", ">", "a b", "", "x" * 65, "1abc"):
        with pytest.raises(ValueError):
            tool(name=name)(lambda: None)


def test_timeouts_and_scheduling_are_checked() -> None:
    with pytest.raises(ValueError):
        tool(timeout=0)(lambda: None)
    with pytest.raises(ValueError):
        tool(scheduling="INTERRUPT")(lambda: None)  # blocking tools have no scheduling
    t = tool(name="later", behavior="NON_BLOCKING", scheduling="WHEN_IDLE")(lambda: None)
    assert t.spec()["scheduling"] == "WHEN_IDLE"
    assert t.declaration()["behavior"] == "NON_BLOCKING"


def test_resources_are_listed_once() -> None:
    from livebus_tools.builtin.notes import notes_bucket, recall, remember
    r = Registry([remember, recall])
    assert r.resources == [notes_bucket]
    assert [s["declaration"]["name"] for s in r.specs()] == ["remember", "recall"]
