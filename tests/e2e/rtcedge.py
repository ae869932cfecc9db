"""The page against the real webrtc-edge: the stack and Chromium in one network namespace.

Chromium (fake camera, and a microphone that says a given script) and the whole stack with the
edge (as `make run` starts it: the gateway's /config names the edge's WHIP URL, the edge allows
the page's origin) run in one network namespace (`netns.one()`), so ICE sees only the test
addresses. Chromium trusts the dev certificate the edge serves by its key
(`--ignore-certificate-errors-spki-list`), nothing else. The fixtures (`edge`,
`edge_emulator`) are in conftest.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from livebus_dev import procs
from livebus_dev.devstack import Stack
from livebus_dev.testing import netns
from livebus_dev.testing.netrelay import entered
from livebus_dev.testing.stack import running_stack

from .conftest import checked_page, chromium_in, spki_hash

# The data channel's messages both ways: `__dc` as they reach the page (before its own
# handlers see them), `__dcSent` as the page sends them.
RECORD_DC = """
window.__dc = [];
window.__dcSent = [];
const createDataChannel = RTCPeerConnection.prototype.createDataChannel;
RTCPeerConnection.prototype.createDataChannel = function (...args) {
  const dc = createDataChannel.apply(this, args);
  dc.addEventListener("message", (e) => window.__dc.push(
    { at: performance.now(), data: String(e.data).slice(0, 2000) }));
  const send = dc.send.bind(dc);
  dc.send = (data) => {
    window.__dcSent.push({ at: performance.now(), data: String(data).slice(0, 2000) });
    return send(data);
  };
  return dc;
};
"""


@dataclass
class EdgeNs:
    ns: netns.Namespace
    stack: Stack


@contextmanager
def edge_stack(tmp: Path) -> Iterator[EdgeNs]:
    """A namespace with the stack and the edge in it; the calling thread stays in the
    namespace until the end, so Playwright and the test's own requests run there too."""
    with netns.one() as ns, entered(ns), running_stack(
            tmp, bridges=2, emulator_pace=1.0, webrtc_port=procs.free_port(),
            extra_env={"LIVEBUS_WEBRTC_ICE_ADDRESSES": ns.address}) as stack:
        yield EdgeNs(ns, stack)


@contextmanager
def page_in(edge: EdgeNs, media: Path, mic: list[tuple[str, float]]) -> Iterator[Page]:
    """A page in its own Chromium (the microphone says `mic` from when the page opens it),
    which trusts the dev certificate's key; no page errors and no CSP violations on the way."""
    trust = f"--ignore-certificate-errors-spki-list={spki_hash(edge.stack)}"
    with chromium_in(edge.ns.name, media, mic=mic, args=[trust]) as browser, \
            checked_page(browser, RECORD_DC) as pg:
        yield pg


def channel(page: Page) -> list[dict[str, Any]]:
    """What the data channel brought the page: [{at, data}] (performance.now, text)."""
    return list(page.evaluate("() => window.__dc"))


def sent(page: Page) -> list[dict[str, Any]]:
    """What the page sent on the data channel: [{at, data}]."""
    return list(page.evaluate("() => window.__dcSent"))


def session_id(page: Page) -> str:
    for m in channel(page):
        if "setupComplete" in m["data"]:
            return str(json.loads(m["data"])["setupComplete"]["sessionId"])
    raise AssertionError("no setupComplete on the data channel")
