"""get_current_time: the model has no clock of its own."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..context import ToolError
from ..registry import tool

# IANA names: ASCII letters, digits, "_", "-", "+", up to 3 "/"-separated parts of <= 30 each
# (the longest in tzdata is 32 characters). Checked before zoneinfo sees the name: zoneinfo
# opens files by it, and with the tzdata package installed a long name reaches open() (OSError:
# name too long) and a directory such as "Europe" IsADirectoryError, neither a ZoneInfoNotFound.
MAX_ZONE_NAME = 64
_ZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+-]{0,29}(?:/[A-Za-z0-9][A-Za-z0-9_+-]{0,29}){0,2}")


@tool(timeout=2.0)
def get_current_time(timezone: str | None = None) -> dict[str, Any]:
    """Get the current date and time.

    Args:
        timezone: IANA time zone name such as "Europe/Paris" or "America/New_York".
            Omit it for UTC.
    """
    name = timezone or "UTC"
    unknown = ToolError(f"unknown time zone {name[:MAX_ZONE_NAME]!r}; "
                        "use an IANA name like Europe/Paris")
    if len(name) > MAX_ZONE_NAME or not _ZONE.fullmatch(name):
        raise unknown
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory, an odd file
        raise unknown from None
    now = dt.datetime.now(zone)
    return {
        "time": now.isoformat(timespec="seconds"),
        "timezone": name,
        "weekday": now.strftime("%A"),
        "utc_offset": now.strftime("%z")[:3] + ":" + now.strftime("%z")[3:],
    }
