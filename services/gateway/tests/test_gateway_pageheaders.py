"""pageheaders.SecurityHeaders: on every HTTP response, HSTS only over TLS, never overriding."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from livebus_gateway import pageheaders
from livebus_gateway.pageheaders import CSP, HEADERS, HSTS, SecurityHeaders


async def page(_: Request) -> Response:
    return Response("<!doctype html><title>x</title>", media_type="text/html")


async def own_headers(_: Request) -> Response:
    return PlainTextResponse("x", headers={"Content-Security-Policy": "default-src 'none'",
                                           "Referrer-Policy": "same-origin",
                                           "Strict-Transport-Security": "max-age=60"})


async def boom(_: Request) -> Response:
    raise RuntimeError("internal")


async def echo(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text(await ws.receive_text())
    await ws.close()


APP = SecurityHeaders(Starlette(routes=[
    Route("/", page), Route("/own", own_headers), Route("/boom", boom),
    Route("/json", lambda _: JSONResponse({"a": 1}), methods=["POST"]),
    WebSocketRoute("/ws", echo),
]))


def client(base_url: str = "http://testserver") -> TestClient:
    return TestClient(APP, base_url=base_url, raise_server_exceptions=False)


def test_every_response_has_the_headers() -> None:
    c = client()
    responses = [c.get("/"), c.post("/json"), c.get("/missing"), c.get("/boom"),
                 c.request("OPTIONS", "/")]
    assert [r.status_code for r in responses] == [200, 200, 404, 500, 405]
    for r in responses:
        for name, value in HEADERS.items():
            assert r.headers.get(name) == value, (r.url, name)
        assert r.headers.get_list("content-security-policy") == [CSP], "set once"


def test_hsts_only_over_tls() -> None:
    assert "strict-transport-security" not in client().get("/").headers
    r = client("https://testserver").get("/")
    assert r.headers["strict-transport-security"] == HSTS
    assert int(HSTS.split("max-age=")[1].split(";")[0]) >= 180 * 24 * 3600


def test_explicit_headers_are_not_overridden() -> None:
    r = client("https://testserver").get("/own")
    assert r.headers.get_list("content-security-policy") == ["default-src 'none'"]
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers.get_list("strict-transport-security") == ["max-age=60"]
    assert r.headers["x-content-type-options"] == "nosniff"  # the rest still added


def test_websockets_and_lifespan_pass_through() -> None:
    with client() as c, c.websocket_connect("/ws") as ws:  # `with` runs the lifespan
        ws.send_text("ping")
        assert ws.receive_text() == "ping"


def test_the_policy_allows_no_inline_code_no_framing_and_only_its_own_origin() -> None:
    directives = {d.split()[0]: d.split()[1:] for d in CSP.split(";") if d.strip()}
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"] and directives["base-uri"] == ["'none'"]
    for name in ("default-src", "script-src", "style-src", "connect-src", "worker-src",
                 "media-src"):
        assert directives[name] == ["'self'"], name
    assert set(directives["img-src"]) == {"'self'", "data:", "blob:"}
    assert "unsafe" not in CSP and "*" not in CSP
    assert pageheaders.HEADERS["x-content-type-options"] == "nosniff"
    assert pageheaders.HEADERS["referrer-policy"] == "no-referrer"


def test_the_webrtc_edge_origin_is_added_to_connect_src_and_nothing_else() -> None:
    policy = pageheaders.csp("https://edge.example:8643")
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    assert directives["connect-src"] == ["'self'", "https://edge.example:8643"]
    assert policy.replace(" https://edge.example:8643", "") == CSP
    assert pageheaders.csp(None) == CSP
    app = SecurityHeaders(Starlette(routes=[Route("/", page)]), policy)
    r = TestClient(app).get("/")
    assert r.headers.get_list("content-security-policy") == [policy]
    assert r.headers["x-frame-options"] == "DENY"
