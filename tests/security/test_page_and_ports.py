"""The page's security headers; /metrics and API docs only off the public ports (item 13)."""

from __future__ import annotations

import httpx

from livebus import tls
from livebus_dev.devstack import Stack


def health_url(stack: Stack) -> str:
    return f"http://{stack.cfg.host}:{stack.cfg.gateway_health_port}"


async def test_public_ports_serve_no_metrics_or_api_docs(stack: Stack) -> None:
    async with httpx.AsyncClient(verify=tls.client_context(stack.ca_file)) as c:
        for base in (stack.gateway_http(), stack.gateway_https()):
            for path in ("/metrics", "/openapi.json", "/docs", "/redoc"):
                r = await c.get(base + path)
                assert r.status_code == 404, (base, path, r.status_code)
                assert "livebus_" not in r.text
            assert (await c.get(base + "/readyz")).status_code == 200
        internal = await c.get(health_url(stack) + "/metrics")
    assert internal.status_code == 200 and "livebus_gateway_sessions" in internal.text


async def test_the_page_carries_its_security_headers(stack: Stack) -> None:
    async with httpx.AsyncClient(verify=tls.client_context(stack.ca_file)) as c:
        plain = await c.get(stack.gateway_http() + "/")
        secure = await c.get(stack.gateway_https() + "/")
    for r in (plain, secure):
        assert r.status_code == 200
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"]
        assert "server" not in r.headers
    assert "strict-transport-security" not in plain.headers
    assert secure.headers["strict-transport-security"].startswith("max-age=")
