"""get_current_time: the model has no clock of its own."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..context import ToolError
from ..registry import tool


@tool(timeout=2.0)
def get_current_time(timezone: str | None = None) -> dict[str, Any]:
    """Get the current date and time.

    Args:
        timezone: IANA time zone name such as "Europe/Paris" or "America/New_York".
            Omit it for UTC.
    """
    name = timezone or "UTC"
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(f"unknown time zone {name!r}; use an IANA name like Europe/Paris") \
            from None
    now = dt.datetime.now(zone)
    return {
        "time": now.isoformat(timespec="seconds"),
        "timezone": name,
        "weekday": now.strftime("%A"),
        "utc_offset": now.strftime("%z")[:3] + ":" + now.strftime("%z")[3:],
    }
