"""Audio chunks on the bus: their metadata in a fixed binary prefix, not in NATS headers.

Audio is most of what crosses the bus (per session 50 chunks a second up, 12-25 down); NATS
headers cost a chunk ~12 us a hop to build and parse, a struct prefix almost nothing
(bench/audio_meta.py). Layout, network byte order:

    version u8 | flags u8 (bit 0: voiced) | mime length u8 | reserved u8
    seq u64 | sent ns u64 (time.time_ns() at the publishing hop) | upstream ns u64 (0: none)
    mime (ASCII; empty on the uplink, which is always 16 kHz PCM) | PCM

seq counts a session's chunks in one direction (gaps are losses); voiced marks the uplink chunk
the gateway's VAD last heard speech in (the bridge starts its upstream clock on it); upstream ns
is on a reply's first chunk, the part of the TTFAB the upstream took.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass

VERSION = 1
_HEAD = struct.Struct("!BBBxQQQ")
HEAD_BYTES = _HEAD.size
_VOICED = 1


class BadFrame(ValueError):
    """Not an audio frame of this version."""


@dataclass(frozen=True, slots=True)
class AudioFrame:
    pcm: bytes
    seq: int
    sent_ns: int
    upstream_ns: int = 0
    voiced: bool = False
    mime: str = ""


def pack(pcm: bytes, seq: int, *, mime: str = "", voiced: bool = False, upstream_ns: int = 0,
         sent_ns: int | None = None) -> bytes:
    label = mime.encode("ascii", "replace")[:255]  # the upstream's; a frame never fails
    head = _HEAD.pack(VERSION, _VOICED if voiced else 0, len(label), seq,
                      time.time_ns() if sent_ns is None else sent_ns, upstream_ns)
    return b"".join((head, label, pcm))


def unpack(data: bytes) -> AudioFrame:
    if len(data) < HEAD_BYTES:
        raise BadFrame("shorter than the prefix")
    version, flags, mime_len, seq, sent_ns, upstream_ns = _HEAD.unpack_from(data)
    if version != VERSION:
        raise BadFrame(f"version {version}")
    start = HEAD_BYTES + mime_len
    if len(data) < start:
        raise BadFrame("shorter than its mime type")
    try:
        mime = data[HEAD_BYTES:start].decode("ascii")
    except UnicodeDecodeError:
        raise BadFrame("mime type not ASCII") from None
    return AudioFrame(data[start:], seq, sent_ns, upstream_ns, bool(flags & _VOICED), mime)


def since_sent(frame: AudioFrame, now_ns: int) -> float | None:
    """Seconds from the publishing hop to now (None without a stamp)."""
    return max(0, now_ns - frame.sent_ns) / 1e9 if frame.sent_ns else None
