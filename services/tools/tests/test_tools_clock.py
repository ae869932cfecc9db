from __future__ import annotations

import pytest

from livebus_tools import ToolError
from livebus_tools.builtin.clock import get_current_time


def test_named_zone_and_utc() -> None:
    tokyo = get_current_time("Asia/Tokyo")
    assert tokyo["timezone"] == "Asia/Tokyo" and tokyo["utc_offset"] == "+09:00"
    assert get_current_time()["utc_offset"] == "+00:00"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "/etc/localtime", "",
                                  "A" * 10_000, "\x00"])
def test_unknown_or_hostile_zones_are_a_tool_error(zone: str) -> None:
    if zone == "":
        assert get_current_time(zone)["timezone"] == "UTC"  # empty means not given
        return
    with pytest.raises(ToolError):
        get_current_time(zone)
