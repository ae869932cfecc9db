from __future__ import annotations

from pathlib import Path

from livebus import tls
from livebus_bridge.settings import UpstreamSettings
from livebus_bridge.upstream import make_client


def test_upstream_websocket_is_not_compressed_unless_asked(tmp_path: Path) -> None:
    # These are the keyword arguments the SDK hands to websockets' connect() for Live.
    ca = tls.ensure_dev_certs(tmp_path).ca
    up = UpstreamSettings(gemini_api_key="k", gemini_base_url="https://127.0.0.1:1",
                          gemini_ca_file=ca)
    ws_args = make_client(up)._api_client._websocket_ssl_ctx
    assert ws_args["compression"] is None
    assert ws_args["ssl"] is not None
    assert make_client(up, ws_compression=True)._api_client._websocket_ssl_ctx[
        "compression"] == "deflate"
