"""The page resumes the same conversation after a network blip: the socket drops with 1006, the
page reconnects with its newest resumption handle, and the next turn is answered with the context
kept (the model's history) and the transcript on screen kept."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from livebus_dev.devstack import Stack

from .conftest import Emulator
from .helpers import open_page, wait_js, wait_live

pytestmark = pytest.mark.e2e


def say(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def test_a_dropped_socket_resumes_the_same_conversation(
        page: Page, stack: Stack, emulator: Emulator) -> None:
    pages: list[WebSocketRoute] = []
    servers: list[WebSocketRoute] = []

    def route(ws: WebSocketRoute) -> None:
        servers.append(ws.connect_to_server())
        pages.append(ws)

    page.route_web_socket("**/ws/**", route)
    open_page(page, stack, mic="off", camera="off", autostart="1", transcript="open")
    wait_live(page)
    say(page, "remember the red kite")
    wait_js(page, "s.turns >= 1 && lb.session.handle", timeout_s=15)
    handle = page.evaluate("() => window.livebus.session.handle")
    assert handle.startswith("livebus-h1."), "the page holds livebus's handle"

    # The blip: both ends of the socket go at once, the page sees 1006 (no close frame).
    pages[0].close(code=1006)
    servers[0].close()
    wait_js(page, "lb.state === 'live' && s.connects === 2", timeout_s=10)
    assert page.evaluate("() => window.livebus.closes.map(c => c.code)") == [1006]

    say(page, "what did I say?")
    wait_js(page, "s.turns >= 2", timeout_s=15)
    model = page.locator("#transcript .msg.model .body")
    expect(model).to_have_count(2)
    expect(model.last).to_contain_text("You wrote: what did I say?")
    expect(page.locator("#transcript .msg.user .body").first).to_have_text(
        "remember the red kite")
    # The same conversation upstream: the model's history holds the first exchange.
    rec = emulator.latest()
    history = str(rec["history"]) + str(rec["restored_history"])
    assert "red kite" in history and "what did I say?" in history, rec["history"]
    assert page.evaluate("() => window.livebus.session.handle") != handle, "handles move on"
