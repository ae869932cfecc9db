"""The page under its Content Security Policy, and the headers the gateway serves it with.

The gateway serves the page with livebus_gateway.pageheaders, and every test in this directory
fails on any `securitypolicyviolation` (conftest.page). This file adds a whole conversation that
uses every feature, a check that the policy is really in force, the token request's Origin, and
the response headers themselves.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, expect

from livebus_dev.devstack import Stack
from livebus_gateway import pageheaders

from .conftest import RECORD_CSP, csp_violations
from .helpers import open_page, png, wait_js, wait_live

pytestmark = pytest.mark.e2e


def origin(url: str) -> str:
    u = urlsplit(url)
    return f"{u.scheme}://{u.netloc}"


def test_a_whole_conversation_meets_no_csp_violation_and_stays_on_its_origin(
        page: Page, stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> None:
    requests: list[str] = []
    sockets: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("websocket", lambda ws: sockets.append(ws.url))
    # Speech, camera, the transcript drawer, typed text, an image, the settings dialog.
    open_page(page, stack, processing="off", autostart="1", transcript="open")
    wait_live(page)
    wait_js(page, "s.turns >= 1 && s.framesSent >= 1 && s.samplesPlayed > 0", timeout_s=15)
    box = page.get_by_role("textbox", name="Message")
    box.fill("hello under the policy")
    box.press("Enter")
    wait_js(page, "s.turns >= 2", timeout_s=10)
    image = tmp_path_factory.mktemp("csp") / "picture.png"
    image.write_bytes(png(300, 200))
    page.locator("#file-input").set_input_files(str(image))
    expect(page.locator("#attachment")).to_be_visible()
    page.get_by_role("button", name="Send message").click()
    wait_js(page, "s.imagesSent === 1 && s.turns >= 3", timeout_s=10)
    expect(page.locator("#transcript .sent-image")).to_have_count(1)  # a blob: image
    page.keyboard.press(",")
    expect(page.get_by_role("dialog", name="Settings")).to_be_visible()
    page.keyboard.press("Escape")
    page.evaluate("() => window.livebus.stop()")
    wait_js(page, "lb.state === 'idle'")

    assert csp_violations(page) == []
    own = origin(stack.gateway_http())
    assert sockets and all(origin(u.replace("ws", "http", 1)) == own for u in sockets), sockets
    assert all(u.startswith(("data:", "blob:")) or origin(u) == own for u in requests), requests


def test_the_policy_is_enforced(browser: Browser, stack: Stack) -> None:
    """An inline handler and an inline style are blocked and reported: the listener every test
    here relies on works."""
    context = browser.new_context()
    try:
        context.add_init_script(RECORD_CSP)
        pg = context.new_page()
        open_page(pg, stack, mic="off", camera="off")
        pg.evaluate("""() => document.body.insertAdjacentHTML('beforeend',
            '<img src="data:," onerror="window.inlineRan = true">'
            + '<span style="color: red">inline style</span>')""")
        pg.wait_for_function("() => window.__cspViolations.length >= 2")
        directives = {v["directive"] for v in csp_violations(pg)}
        assert {"script-src-attr", "style-src-attr"} <= directives, directives
        assert pg.evaluate("() => window.inlineRan") is None
    finally:
        context.close()


def test_the_token_request_is_a_same_origin_post_carrying_the_origin(
        page: Page, stack: Stack) -> None:
    """The gateway hands a dev token only for a same-origin POST whose Origin header is the
    page's. (Under the page's no-referrer policy the Fetch standard sends `Origin: null` on a
    plain POST, as Firefox does; Chromium sends the origin either way, so this test shows the
    header and the answer, not the difference the page's referrerPolicy makes elsewhere.)"""
    tokens: list[Request] = []
    page.on("request", lambda r: tokens.append(r) if r.url.endswith("/dev/token") else None)
    open_page(page, stack, mic="off", camera="off", autostart="1")
    wait_live(page)
    [req] = tokens
    headers = req.all_headers()
    assert req.method == "POST"
    assert headers.get("origin") == origin(stack.gateway_http()), headers
    assert "referer" not in headers, headers
    response = req.response()
    assert response is not None and response.status == 200


def test_the_gateway_serves_the_page_with_security_headers(stack: Stack) -> None:
    r = httpx.get(f"{stack.gateway_http()}/", timeout=10)
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    csp = r.headers["content-security-policy"]
    assert csp == pageheaders.CSP
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["frame-ancestors"] == "'none'"
    assert directives["script-src"] == "'self'" and "unsafe" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in r.headers, "HSTS only over TLS"
    for path in ("/app.js", "/style.css", "/worklets/capture.js", "/config"):
        assert httpx.get(f"{stack.gateway_http()}{path}", timeout=10).headers[
            "x-content-type-options"] == "nosniff", path
