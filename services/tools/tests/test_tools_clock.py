from __future__ import annotations

import sys
import zoneinfo
from collections.abc import Iterator

import pytest

from livebus_tools import ToolError
from livebus_tools.builtin.clock import get_current_time


@pytest.fixture(params=["system", "tzdata"], autouse=True)
def zone_source(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each test once per place zoneinfo may read from: the system's files only, and the tzdata
    package only (installed with python-dateutil; its file paths fail differently on hostile
    names), so the outcome does not depend on what the venv happens to hold."""
    if request.param == "system":
        monkeypatch.setitem(sys.modules, "tzdata", None)  # import fails: no package fallback
        monkeypatch.setitem(sys.modules, "tzdata.zoneinfo", None)
    else:
        pytest.importorskip("tzdata")
        zoneinfo.reset_tzpath(to=[])
    zoneinfo.ZoneInfo.clear_cache()
    yield request.param
    zoneinfo.reset_tzpath()
    zoneinfo.ZoneInfo.clear_cache()


def test_named_zone_and_utc() -> None:
    tokyo = get_current_time("Asia/Tokyo")
    assert tokyo["timezone"] == "Asia/Tokyo" and tokyo["utc_offset"] == "+09:00"
    assert get_current_time()["utc_offset"] == "+00:00"
    assert get_current_time("America/Argentina/ComodRivadavia")["utc_offset"] == "-03:00"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "/etc/localtime", "",
                                  "A" * 10_000, "A" * 300, "\x00", "Europe", "Europe/",
                                  "zone.tab", "Europe/Paris\n", "Europe//Paris"])
def test_unknown_or_hostile_zones_are_a_tool_error(zone: str) -> None:
    if zone == "":
        assert get_current_time(zone)["timezone"] == "UTC"  # empty means not given
        return
    with pytest.raises(ToolError) as e:
        get_current_time(zone)
    assert len(str(e.value)) < 160, "the error quotes a bounded part of the name"
