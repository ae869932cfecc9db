"""Give freed decode buffers back to the OS, so a burst of uploads leaves no resident growth.

glibc raises its mmap threshold as large blocks are freed (up to 32 MiB), after which image
buffers come from arenas that keep their pages; fixing the threshold keeps every buffer of a
MiB or more in its own mapping, returned when freed, and `trim` releases what arenas still hold.
Elsewhere than glibc both are no-ops."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 20


def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018  # glibc only
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


_libc = _glibc()


def tune() -> None:
    if _libc is not None and not _libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD):
        log.warning("could not set the malloc mmap threshold")


def trim() -> None:
    if _libc is not None:
        _libc.malloc_trim(0)
