"""app.py's HTTP routes without NATS: /dev/token's rules, no API docs, header limits."""

from __future__ import annotations

import time

import jwt
import pytest
from starlette.testclient import TestClient

from livebus_gateway.app import CollapseSlashes, GatewayState, create_app
from livebus_gateway.httpserver import HeaderLimit
from livebus_gateway.pageheaders import SecurityHeaders
from livebus_gateway.settings import GatewaySettings

SECRET = "a" * 32
KEY = "server-key-0123456789abcdef"


def client(dev_tokens: bool = True, base: str = "http://127.0.0.1:8080") -> TestClient:
    settings = GatewaySettings(token_secret=SECRET, api_keys=[KEY], dev_tokens=dev_tokens,
                               http_port=8080, max_headers=50)
    state = GatewayState.of(settings)
    state.secret = SECRET
    app = SecurityHeaders(HeaderLimit(CollapseSlashes(create_app(settings, state)), 50))
    return TestClient(app, base_url=base)


def test_dev_token_for_the_page_itself() -> None:
    r = client().post("/dev/token", headers={"origin": "http://127.0.0.1:8080"})
    assert r.status_code == 200
    user = jwt.decode(r.json()["name"].removeprefix("auth_tokens/"), SECRET,
                      algorithms=["HS256"], issuer="livebus")["user"]
    assert user.startswith("page:") and len(user) > 10


@pytest.mark.parametrize("origin", [None, "null", "http://evil.example", "http://127.0.0.1:8081",
                                    "https://127.0.0.1:8080", "http://127.0.0.1:8080/"])
def test_dev_token_refused_for_any_other_origin(origin: str | None) -> None:
    headers = {"origin": origin} if origin else {}
    assert client().post("/dev/token", headers=headers).status_code == 403


def test_dev_token_refused_for_other_hosts_ports_and_when_off() -> None:
    spoofed = client(base="http://evil.example:8080")
    assert spoofed.post("/dev/token", headers={"origin": "http://evil.example:8080"}
                        ).status_code == 403
    other_port = client(base="http://127.0.0.1:8443")
    assert other_port.post("/dev/token", headers={"origin": "http://127.0.0.1:8443"}
                           ).status_code == 403
    off = client(dev_tokens=False)
    assert off.post("/dev/token", headers={"origin": "http://127.0.0.1:8080"}).status_code == 403


def test_no_api_docs_or_metrics_on_the_app() -> None:
    c = client()
    for path in ("/openapi.json", "/docs", "/redoc", "/metrics"):
        assert c.get(path).status_code == 404, path
    assert c.get("/livez").status_code == 200
    assert c.get("/readyz").status_code == 503  # no NATS here


def test_too_many_headers_and_security_headers() -> None:
    c = client()
    r = c.get("/livez", headers={f"x-h{i}": "v" for i in range(60)})
    assert r.status_code == 431
    assert r.headers["x-content-type-options"] == "nosniff"


def test_auth_tokens_refuses_big_and_deep_bodies() -> None:
    c = client()
    headers = {"x-goog-api-key": KEY, "content-type": "application/json"}
    assert c.post("/v1alpha/auth_tokens", content="[" * 50000 + "]" * 50000,
                  headers=headers).status_code == 400
    assert c.post("/v1alpha/auth_tokens", content='{"a": "' + "x" * 300_000 + '"}',
                  headers=headers).status_code == 400
    assert c.post("/v1alpha/auth_tokens", content='{"uses": Infinity}',
                  headers=headers).status_code == 400
    assert c.post("/v1alpha/auth_tokens", json={}, headers={"x-goog-api-key": "no"}
                  ).status_code == 401


class FakeBus:
    """The one seam: what readiness reads of EdgeBus."""

    def __init__(self, seen: dict[str, float]) -> None:
        self.bridges_seen = seen

    def connected(self) -> bool:
        return True


def test_ready_needs_a_live_bridge_and_room() -> None:
    import time

    settings = GatewaySettings(token_secret=SECRET, max_sessions=1)
    state = GatewayState.of(settings)
    state.bus = FakeBus({})  # type: ignore[assignment]
    assert state.ready() == (False, "no bridge alive")
    state.bus = FakeBus({"b": time.monotonic() - 60})  # type: ignore[assignment]
    assert not state.ready()[0]
    state.bus = FakeBus({"b": time.monotonic()})  # type: ignore[assignment]
    assert state.ready() == (True, "ok")
    state.admission.acquire("u")
    assert state.ready() == (False, "at max_sessions")


def test_config_names_the_webrtc_edge_only_when_one_is_set() -> None:
    assert "webrtc" not in client().get("/config").json()
    settings = GatewaySettings(token_secret=SECRET, api_keys=[KEY],
                               webrtc_whip_url="https://127.0.0.1:8643/whip")
    r = TestClient(create_app(settings)).get("/config")
    assert r.json()["webrtc"] == {"whip": "https://127.0.0.1:8643/whip", "iceServers": []}
    assert settings.whip_origin() == "https://127.0.0.1:8643"
    assert GatewaySettings(webrtc_whip_url="/whip").whip_origin() is None
    assert GatewaySettings(webrtc_whip_url="https://[::1]:8643/whip").whip_origin() \
        == "https://[::1]:8643"


@pytest.mark.parametrize("url", ["http://edge/whip", "https://user:pw@edge/whip", "//edge/whip",
                                 "https://edge;script-src */whip", "https://edge/whip#x",
                                 "https://edge/wh ip", "whip", "https:///whip"])
def test_a_whip_url_that_is_not_https_or_would_widen_the_csp_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        GatewaySettings(webrtc_whip_url=url)


def test_token_responses_carry_turn_credentials_and_config_only_stun() -> None:
    urls = ["stun:stun.example.com:3478", "turn:turn.example.com:3478"]
    settings = GatewaySettings(token_secret=SECRET, api_keys=[KEY], dev_tokens=True,
                               http_port=8080, webrtc_whip_url="/whip", ice_urls=urls,
                               turn_secret="coturn-secret", turn_ttl_s=600)
    state = GatewayState.of(settings)
    state.secret = SECRET
    c = TestClient(create_app(settings, state), base_url="http://127.0.0.1:8080")
    assert c.get("/config").json()["webrtc"]["iceServers"] == [{"urls": urls[:1]}]
    minted = c.post("/v1alpha/auth_tokens", headers={"x-goog-api-key": KEY}, json={}).json()
    page = c.post("/dev/token", headers={"origin": "http://127.0.0.1:8080"}).json()
    for token in (minted, page):
        stun, relay = token["livebus"]["iceServers"]
        assert stun == {"urls": urls[:1]}
        assert relay["urls"] == urls[1:]
        expiry = int(relay["username"].split(":")[0])
        assert 590 < expiry - time.time() <= 600
        assert "coturn-secret" not in str(token)
    assert minted["livebus"]["iceServers"][1]["username"] \
        != page["livebus"]["iceServers"][1]["username"]  # one credential per token
    plain = client().post("/dev/token", headers={"origin": "http://127.0.0.1:8080"}).json()
    assert "livebus" not in plain


def test_ice_urls_must_be_stun_or_turn() -> None:
    with pytest.raises(ValueError):
        GatewaySettings(ice_urls=["https://turn.example.com"])
