"""Small helpers for driving the page."""

from __future__ import annotations

import struct
import zlib
from typing import Any

from playwright.sync_api import Page

from livebus_dev.devstack import Stack


def open_page(page: Page, stack: Stack, **query: str) -> None:
    """Load the page from the gateway with query settings and wait until it is ready."""
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    page.goto(f"{stack.gateway_http()}/?{qs}")
    page.wait_for_function("() => window.livebus && window.livebus.ready === true")


def stats(page: Page) -> dict[str, Any]:
    return dict(page.evaluate("() => ({...window.livebus.stats})"))


def wait_js(page: Page, predicate: str, timeout_s: float = 10.0) -> None:
    """Wait until `predicate` (a JS expression over `s` = livebus.stats, `lb` = livebus) holds."""
    page.wait_for_function(f"() => {{ const lb = window.livebus; const s = lb.stats; "
                           f"return Boolean({predicate}); }}", timeout=timeout_s * 1000)


def wait_live(page: Page, timeout_s: float = 10.0) -> None:
    wait_js(page, "lb.state === 'live'", timeout_s)


def png(width: int, height: int) -> bytes:
    """An RGB PNG: a blue-to-violet gradient with a white square (no imaging library)."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            inside = width // 3 < x < 2 * width // 3 and height // 3 < y < 2 * height // 3
            r, g, b = (250, 250, 250) if inside else (60 + 120 * x // width, 90, 220)
            rows += bytes((r, g, b))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    head = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(bytes(rows)))
            + chunk(b"IEND", b""))
